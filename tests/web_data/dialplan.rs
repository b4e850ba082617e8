//! The dialplan editor: listing, reading, validation, saves with reload, creation and
//! deletion, permissions.

use super::*;

#[tokio::test]
async fn dialplan_lists_reads_and_validates_without_writing() {
    let app = app(With::Everything).await;
    let admin = app.session("root", ADMIN_PW).await;
    let r = app.get("/api/v1/dialplan", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["generation"], 1);
    assert_eq!(r.body["contexts"], 2);
    assert_eq!(r.body["extensions"], 2);
    let names: Vec<&str> = r.body["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert_eq!(names, ["extensions.conf", "outbound.conf"]);
    assert_eq!(r.body["files"][0]["size"], EXTENSIONS.len());
    assert!(r.body["files"][0]["modified_ms"].as_i64() > Some(0));

    let r = app
        .get("/api/v1/dialplan/files/outbound.conf", &admin)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        json!({ "name": "outbound.conf", "content": OUTBOUND })
    );
    let r = app.get("/api/v1/dialplan/files/nope.conf", &admin).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.get("/api/v1/dialplan/files/README", &admin).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["detail"]["field"], "name");

    let bad = "[outbound]\nexten => _0X.,1,Dial(SIP/gw1/${EXTEN})\nexten => 1,x,Answer()\n";
    let body = json!({ "name": "outbound.conf", "content": bad });
    let r = app
        .call(
            Method::POST,
            "/api/v1/dialplan/validate",
            &admin,
            Some(body),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["ok"], false);
    let e = &r.body["errors"][0];
    assert_eq!(
        (e["file"].as_str(), e["line"].as_u64(), e["col"].as_u64()),
        (Some("outbound.conf"), Some(3), Some(12))
    );
    assert!(
        e["message"]
            .as_str()
            .is_some_and(|m| m.contains("bad priority")),
        "{e}"
    );
    // Removing the included context in a candidate breaks the other file.
    let body = json!({ "name": "outbound.conf", "content": "[elsewhere]\n" });
    let r = app
        .call(
            Method::POST,
            "/api/v1/dialplan/validate",
            &admin,
            Some(body),
        )
        .await;
    assert_eq!(r.body["errors"][0]["file"], "extensions.conf");
    assert_eq!(r.body["errors"][0]["line"], 4);
    let body = json!({ "name": "new.conf", "content": "[more]\nexten => 7,1,Answer\n" });
    let r = app
        .call(
            Method::POST,
            "/api/v1/dialplan/validate",
            &admin,
            Some(body),
        )
        .await;
    assert_eq!(r.body, json!({ "ok": true, "errors": [] }));
    // Nothing was written, nothing reloaded.
    assert_eq!(app.on_disk("outbound.conf").as_deref(), Some(OUTBOUND));
    assert_eq!(app.on_disk("new.conf"), None);
    assert_eq!(app.reloader.live().generation(), 1);
    // Viewers read and validate too.
    let viewer = app.session("val", VIEWER_PW).await;
    assert_eq!(
        app.get("/api/v1/dialplan", &viewer).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_valid_save_is_written_and_reloaded_a_bad_one_changes_nothing() {
    let app = app(With::Everything).await;
    let admin = app.session("root", ADMIN_PW).await;
    let bad = format!("{EXTENSIONS}exten => 200,1,Dial(\n");
    let r = app
        .call(
            Method::PUT,
            "/api/v1/dialplan/files/extensions.conf",
            &admin,
            Some(json!({ "content": bad })),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["error"], "invalid dialplan");
    let e = &r.body["detail"]["errors"][0];
    assert_eq!(e["file"], "extensions.conf");
    assert_eq!(e["line"], 5);
    assert!(e["col"].as_u64() > Some(0));
    assert_eq!(app.on_disk("extensions.conf").as_deref(), Some(EXTENSIONS));
    assert_eq!(app.reloader.live().generation(), 1);
    assert!(app.reloader.live().current().context("internal").is_some());

    let good = format!("{EXTENSIONS}exten => 200,1,Playback(hello)\n");
    let r = app
        .call(
            Method::PUT,
            "/api/v1/dialplan/files/extensions.conf",
            &admin,
            Some(json!({ "content": good })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["generation"], 2);
    assert_eq!(r.body["extensions"], 3);
    assert_eq!(r.body["size"], good.len());
    assert_eq!(app.on_disk("extensions.conf"), Some(good.clone()));
    assert_eq!(app.reloader.live().generation(), 2);
    let dialplan = app.reloader.live().current();
    let internal = dialplan.context("internal").expect("internal");
    assert!(internal.extensions().iter().any(|x| x.name() == "200"));
    // No temporary file is left in the directory.
    let mut entries: Vec<String> = std::fs::read_dir(&app.dialplan_dir)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    entries.sort();
    assert_eq!(entries, ["README", "extensions.conf", "outbound.conf"]);
    let audit = app.audit().await;
    assert_eq!(audit[0].0, "dialplan.save");
    assert_eq!(audit[0].1, "extensions.conf");
    assert_eq!(audit[0].2["bytes_before"], EXTENSIONS.len());
    assert_eq!(audit[0].2["bytes_after"], good.len());
    assert_eq!(audit[0].2["generation"], 2);
    // Unknown file, unknown field, missing content.
    let r = app
        .call(
            Method::PUT,
            "/api/v1/dialplan/files/ghost.conf",
            &admin,
            Some(json!({ "content": "" })),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .call(
            Method::PUT,
            "/api/v1/dialplan/files/outbound.conf",
            &admin,
            Some(json!({ "text": "" })),
        )
        .await;
    assert_eq!(
        (r.status, r.body["detail"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("text"))
    );
    let r = app
        .call(
            Method::PUT,
            "/api/v1/dialplan/files/outbound.conf",
            &admin,
            Some(json!({})),
        )
        .await;
    assert_eq!(r.body["detail"]["field"], "content");
}

#[tokio::test]
async fn files_are_created_and_deleted_only_when_the_dialplan_stays_valid() {
    let app = app(With::Everything).await;
    let admin = app.session("root", ADMIN_PW).await;
    let extra = "[extra]\nexten => 300,1,Answer()\n";
    let create = |name: &str, content: &str| json!({ "name": name, "content": content });
    let r = app
        .call(
            Method::POST,
            "/api/v1/dialplan/files",
            &admin,
            Some(create("extra.conf", extra)),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["generation"], 2);
    assert_eq!(app.on_disk("extra.conf").as_deref(), Some(extra));
    let r = app
        .call(
            Method::POST,
            "/api/v1/dialplan/files",
            &admin,
            Some(create("extra.conf", extra)),
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    for bad in ["../x.conf", "x.txt", "a b.conf"] {
        let r = app
            .call(
                Method::POST,
                "/api/v1/dialplan/files",
                &admin,
                Some(create(bad, extra)),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        assert_eq!(r.body["detail"]["field"], "name");
    }
    // A new file that clashes (duplicate priority) is refused and not written.
    let clash = "[internal]\nexten => 100,1,Hangup()\n";
    let r = app
        .call(
            Method::POST,
            "/api/v1/dialplan/files",
            &admin,
            Some(create("clash.conf", clash)),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["detail"]["errors"][0]["file"], "extensions.conf");
    assert_eq!(app.on_disk("clash.conf"), None);
    // outbound.conf is included by extensions.conf: deleting it is refused.
    let r = app
        .call(
            Method::DELETE,
            "/api/v1/dialplan/files/outbound.conf",
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["error"], "invalid dialplan");
    assert!(app.on_disk("outbound.conf").is_some());
    let r = app
        .call(
            Method::DELETE,
            "/api/v1/dialplan/files/extra.conf",
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(app.on_disk("extra.conf"), None);
    assert_eq!(app.reloader.live().generation(), 3);
    assert!(app.reloader.live().current().context("extra").is_none());
    let r = app
        .call(
            Method::DELETE,
            "/api/v1/dialplan/files/extra.conf",
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // The last file cannot go.
    let r = app
        .call(
            Method::DELETE,
            "/api/v1/dialplan/files/extensions.conf",
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let r = app
        .call(
            Method::DELETE,
            "/api/v1/dialplan/files/outbound.conf",
            &admin,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["detail"]["field"], "name");
    assert!(app.on_disk("outbound.conf").is_some());
    let actions: Vec<(String, String)> = app
        .audit()
        .await
        .into_iter()
        .take(3)
        .map(|(a, t, _)| (a, t))
        .collect();
    assert_eq!(
        actions,
        [
            ("dialplan.delete".to_owned(), "extensions.conf".to_owned()),
            ("dialplan.delete".to_owned(), "extra.conf".to_owned()),
            ("dialplan.create".to_owned(), "extra.conf".to_owned()),
        ]
    );
}

#[tokio::test]
async fn dialplan_changes_need_an_admin_a_csrf_token_and_a_login() {
    let app = app(With::Everything).await;
    let viewer = app.session("val", VIEWER_PW).await;
    let put = |auth: Auth| {
        let app = &app;
        async move {
            app.call(
                Method::PUT,
                "/api/v1/dialplan/files/outbound.conf",
                &auth,
                Some(json!({ "content": "[outbound]\n" })),
            )
            .await
            .status
        }
    };
    assert_eq!(put(viewer.clone()).await, StatusCode::FORBIDDEN);
    let r = app
        .call(
            Method::DELETE,
            "/api/v1/dialplan/files/outbound.conf",
            &viewer,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let admin = app.session("root", ADMIN_PW).await;
    let no_csrf = Auth {
        csrf: None,
        ..admin.clone()
    };
    assert_eq!(put(no_csrf).await, StatusCode::FORBIDDEN);
    assert_eq!(put(Auth::default()).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.get("/api/v1/dialplan", &Auth::default()).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.on_disk("outbound.conf").as_deref(), Some(OUTBOUND));
    assert_eq!(app.reloader.live().generation(), 1);
}
