// One call in one view (GET /cdr/calls/{linkedid}): its legs, its bridge records and its
// CEL event timeline.
import { get } from '../api.js';
import { h, replace, dataTable, emptyRow, errorBox, fmtDateTime, fmtDuration, badge } from '../ui.js';

function secs(ms, s) { return ms != null ? ms / 1000 : s; }
function ms3(t) {
  if (t == null) return '';
  const d = new Date(Number(t));
  return `${fmtDateTime(t)}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

export default async function call(main, ctx) {
  const linkedid = ctx.params.linkedid;
  replace(main,
    h('p', {}, h('a', { href: '/ui/cdr', 'data-testid': 'call-back' }, '← Call records')),
    h('h1', {}, 'Call ', h('code', { 'data-testid': 'call-linkedid', text: linkedid })));
  let data;
  try {
    data = await get(`/cdr/calls/${encodeURIComponent(linkedid)}`);
  } catch (e) {
    main.append(errorBox(e, 'call-error'));
    return;
  }
  const legs = data.legs || [];
  const bridges = data.bridges || [];
  const cel = (data.cel || []).slice().sort((a, b) => (a.eventtime - b.eventtime) || ((a.event_seq ?? 0) - (b.event_seq ?? 0)));
  const starts = legs.map((l) => l.start).filter((x) => x != null);
  const ends = legs.map((l) => l.end).filter((x) => x != null);
  const first = starts.length ? Math.min(...starts) : null;
  const last = ends.length ? Math.max(...ends) : null;
  const answered = bridges.some((b) => b.disposition === 'ANSWERED') || legs.some((l) => l.answer != null);

  const summary = h('dl', { class: 'kv panel', 'data-testid': 'call-summary' },
    h('dt', { text: 'Started' }), h('dd', { text: fmtDateTime(first) || '—' }),
    h('dt', { text: 'Ended' }), h('dd', { text: fmtDateTime(last) || '—' }),
    h('dt', { text: 'Length' }), h('dd', { text: first != null && last != null ? fmtDuration((last - first) / 1000) : '—' }),
    h('dt', { text: 'Outcome' }), h('dd', {}, badge(answered ? 'answered' : 'not answered', answered ? 'ok' : 'warn')),
    h('dt', { text: 'Records' }), h('dd', { text: `${legs.length} legs, ${bridges.length} bridge records, ${cel.length} events` }));

  const legCols = ['Start', 'Channel', 'Caller', 'Destination', 'Direction', 'Status', 'Answered', 'Ended', 'Talk', 'Hang-up', 'Codec', 'RTP in/out (lost)'];
  const legTable = dataTable('Legs of this call', legCols, 'call-legs');
  replace(legTable.tbody, legs.length ? legs.map((l) => h('tr', { 'data-testid': 'call-leg-row', 'data-uuid': l.uuid || '' },
    h('th', { scope: 'row', text: fmtDateTime(l.start) }),
    h('td', { text: l.channel_name || l.uuid || '' }),
    h('td', { text: l.caller_id_name && l.caller_id_name !== l.caller_id_number ? `${l.caller_id_name} <${l.caller_id_number}>` : (l.caller_id_number || '') }),
    h('td', { text: l.destination_number || '' }),
    h('td', { text: l.direction || '' }),
    h('td', { text: l.status || '' }),
    h('td', { text: fmtDateTime(l.answer) }),
    h('td', { text: fmtDateTime(l.end) }),
    h('td', { class: 'num', text: fmtDuration(secs(l.billsec_ms, l.billsec)) }),
    h('td', { text: [l.hangup_cause, l.sip_code ? `SIP ${l.sip_code}` : null, l.hangup_side ? `by ${l.hangup_side}` : null].filter(Boolean).join(', ') }),
    h('td', { text: l.codec || '' }),
    h('td', { class: 'num', text: `${l.rtp_in_packets ?? 0} (${l.rtp_in_lost ?? 0}) / ${l.rtp_out_packets ?? 0} (${l.rtp_out_lost ?? 0})` }))) : emptyRow(legCols.length, 'No legs recorded.'));

  const brCols = ['Start', 'Source', 'Destination', 'Disposition', 'Answered', 'Ended', 'Duration', 'Talk', 'Application', 'Channel', 'Peer channel', 'Sequence'];
  const brTable = dataTable('Bridge records of this call', brCols, 'call-bridges');
  replace(brTable.tbody, bridges.length ? bridges.map((b) => h('tr', { 'data-testid': 'call-bridge-row' },
    h('th', { scope: 'row', text: fmtDateTime(b.start) }),
    h('td', { text: b.src || '' }),
    h('td', { text: b.dst || '' }),
    h('td', {}, badge(b.disposition || '', b.disposition === 'ANSWERED' ? 'ok' : 'muted')),
    h('td', { text: fmtDateTime(b.answer) }),
    h('td', { text: fmtDateTime(b.end) }),
    h('td', { class: 'num', text: fmtDuration(secs(b.duration_ms, b.duration)) }),
    h('td', { class: 'num', text: fmtDuration(secs(b.billsec_ms, b.billsec)) }),
    h('td', { text: [b.lastapp, b.lastdata].filter(Boolean).join(' ') }),
    h('td', { text: b.channel || '' }),
    h('td', { text: b.dstchannel || '' }),
    h('td', { class: 'num', text: String(b.sequence ?? '') }))) : emptyRow(brCols.length, 'No bridge records.'));

  const timeline = h('ol', { class: 'timeline', 'data-testid': 'call-cel' }, cel.length ? cel.map((e) => h('li', { 'data-testid': 'call-cel-event', 'data-event': e.eventtype },
    h('time', { datetime: new Date(Number(e.eventtime)).toISOString(), text: ms3(e.eventtime) }),
    h('strong', { text: e.eventtype }), ' ',
    h('span', { text: [e.channame, e.appname ? `${e.appname}(${e.appdata || ''})` : null, e.exten ? `exten ${e.exten}@${e.context}` : null, e.cid_num ? `from ${e.cid_num}` : null, e.peer ? `peer ${e.peer}` : null].filter(Boolean).join(' · ') }),
    e.extra && e.extra !== '{}' && e.extra !== '' ? h('small', { class: 'muted', text: ` ${typeof e.extra === 'string' ? e.extra : JSON.stringify(e.extra)}` }) : null)) : h('li', { class: 'muted', text: 'No events recorded.' }));

  main.append(summary,
    h('section', { 'aria-labelledby': 'h-legs' }, h('h2', { id: 'h-legs', text: `Legs (${legs.length})` }), legTable.wrap),
    h('section', { 'aria-labelledby': 'h-bridges' }, h('h2', { id: 'h-bridges', text: `Bridge records (${bridges.length})` }), brTable.wrap),
    h('section', { 'aria-labelledby': 'h-cel' }, h('h2', { id: 'h-cel', text: `Event timeline (${cel.length})` }), timeline));
}
