// Reports over a chosen period (GET /reports): answer rate, average talk time, totals, the
// calls chart (GET /reports/chart.svg, drawn by the server), calls per bucket, and the
// busiest extensions and gateways.
import { get, query } from '../api.js';
import { h, replace, dataTable, emptyRow, errorBox, field, fmtDateTime, fmtDuration, tzOffsetMin, announce, loadSvg } from '../ui.js';

function dateInput(d) {
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}
function startOfDay(value) {
  const [y, m, d] = value.split('-').map(Number);
  return new Date(y, m - 1, d);
}

export default async function reports(main, ctx) {
  const today = new Date(); today.setHours(0, 0, 0, 0);
  const weekAgo = new Date(today); weekAgo.setDate(today.getDate() - 6);
  const from = h('input', { type: 'date', name: 'from', 'data-testid': 'report-from', value: ctx.query.get('from') || dateInput(weekAgo), required: true });
  const to = h('input', { type: 'date', name: 'to', 'data-testid': 'report-to', value: ctx.query.get('to') || dateInput(today), required: true });
  const bucket = h('select', { name: 'bucket', 'data-testid': 'report-bucket' },
    h('option', { value: 'day', text: 'per day' }), h('option', { value: 'hour', text: 'per hour' }));
  bucket.value = ctx.query.get('bucket') === 'hour' ? 'hour' : 'day';
  const preset = (label, days, testid) => h('button', {
    type: 'button', 'data-testid': testid,
    on: {
      click: () => {
        const start = new Date(today); start.setDate(today.getDate() - (days - 1));
        from.value = dateInput(start); to.value = dateInput(today);
        bucket.value = days === 1 ? 'hour' : 'day';
        run();
      },
    },
  }, label);
  const form = h('form', { class: 'panel', 'data-testid': 'report-form', 'aria-label': 'Report period' },
    h('div', { class: 'form-grid' }, field('From (first day)', from), field('To (last day, included)', to), field('Buckets', bucket)),
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', class: 'primary', 'data-testid': 'report-run' }, 'Show report'),
      preset('Today', 1, 'report-today'), preset('Last 7 days', 7, 'report-7d'), preset('Last 30 days', 30, 'report-30d')));
  const out = h('div', { 'data-testid': 'report-output', 'aria-live': 'polite', 'aria-busy': 'false' });
  replace(main, h('h1', { text: 'Reports' }), form, out);
  form.addEventListener('submit', (e) => { e.preventDefault(); run(); });

  function period() {
    const start = startOfDay(from.value);
    const end = startOfDay(to.value); end.setDate(end.getDate() + 1);
    return { from: start.getTime(), to: end.getTime(), bucket: bucket.value, tz_offset_min: tzOffsetMin() };
  }

  async function run() {
    if (!from.value || !to.value) { replace(out, errorBox('Choose the first and the last day.')); return; }
    const p = period();
    if (p.to <= p.from) { replace(out, errorBox('The last day must not be before the first day.')); return; }
    history.replaceState(null, '', `/ui/reports${query({ from: from.value, to: to.value, bucket: bucket.value })}`);
    out.setAttribute('aria-busy', 'true');
    try {
      const r = await get(`/reports${query(p)}`);
      draw(r, p);
      announce(`Report: ${r.total} calls, ${(100 * (r.answer_rate || 0)).toFixed(1)} percent answered.`);
    } catch (e) {
      replace(out, errorBox(e, 'report-error'));
    } finally {
      out.setAttribute('aria-busy', 'false');
    }
  }

  function draw(r, p) {
    const rate = `${(100 * (r.answer_rate || 0)).toFixed(1)} %`;
    const tile = (key, label, value) => h('div', { class: 'tile', 'data-testid': `report-${key}` }, h('dt', { text: label }), h('dd', { text: value }));
    const chartAlt = `Chart of calls ${bucket.value === 'hour' ? 'per hour' : 'per day'} from ${from.value} to ${to.value}: ${r.total} calls, ${r.answered} answered (${rate}).`;
    const chart = h('img', {
      class: 'chart', 'data-testid': 'report-chart', width: '800', height: '300', alt: chartAlt,
    });
    loadSvg(chart, `/api/v1/reports/chart.svg${query({ ...p, series: 'calls' })}`);

    const buckets = dataTable('Calls per bucket', ['Period start', 'Calls', 'Answered', 'Answer rate'], 'report-buckets');
    const withCalls = (r.per_bucket || []);
    replace(buckets.tbody, withCalls.length ? withCalls.map((b) => h('tr', {},
      h('th', { scope: 'row', text: bucket.value === 'hour' ? fmtDateTime(b.start).slice(0, 16) : fmtDateTime(b.start).slice(0, 10) }),
      h('td', { class: 'num', text: String(b.total) }),
      h('td', { class: 'num', text: String(b.answered) }),
      h('td', { class: 'num', text: b.total ? `${((100 * b.answered) / b.total).toFixed(1)} %` : '—' }))) : emptyRow(4, 'No calls in this period.'));

    const busiest = (caption, list, testid) => {
      const t = dataTable(caption, ['Name', 'Calls', 'Talk time'], testid);
      replace(t.tbody, list && list.length ? list.map((x) => h('tr', {},
        h('th', { scope: 'row', text: x.name }), h('td', { class: 'num', text: String(x.calls) }),
        h('td', { class: 'num', text: fmtDuration(x.talk_secs) }))) : emptyRow(3, 'None.'));
      return t.wrap;
    };

    replace(out,
      h('dl', { class: 'tiles', 'data-testid': 'report-tiles' },
        tile('total', 'Calls', String(r.total)),
        tile('answered', 'Answered', String(r.answered)),
        tile('answer-rate', 'Answer rate', rate),
        tile('avg-talk', 'Average talk time', fmtDuration(r.avg_talk_secs))),
      h('h2', { text: 'Calls over the period' }),
      h('figure', { class: 'chart-box' }, chart),
      h('div', { class: 'grid-2' },
        h('section', {}, h('h2', { text: 'Per ' + (bucket.value === 'hour' ? 'hour' : 'day') }), buckets.wrap),
        h('section', {},
          h('h2', { text: 'Busiest extensions' }), busiest('Busiest extensions', r.busiest_extensions, 'report-extensions'),
          h('h2', { text: 'Busiest gateways' }), busiest('Busiest gateways', r.busiest_gateways, 'report-gateways'))));
  }

  run();
}
