//! `/api/v1/gateways`: changes in force at once and kept across a restart; configured
//! gateways read-only (409); bad fields named (422).

use super::*;

#[tokio::test]
async fn gateway_crud_is_in_force_at_once_and_persists() {
    let app = app().await;
    let admin = app.session("root", ADMIN_PW).await;
    let (status, body) = app
        .call(Method::GET, "/api/v1/gateways", &admin, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["gateways"][0]["name"], "carrier");
    assert_eq!(body["gateways"][0]["origin"], "config");
    assert_eq!(body["gateways"][0]["editable"], false);
    assert_eq!(body["gateways"][0]["state"]["status"], "unknown");

    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/gateways",
            &admin,
            Some(
                json!({ "name": "trunk", "address": "127.0.0.2:5062", "transport": "tcp",
                         "trust_inbound_by_source": true }),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["origin"], "web");
    assert_eq!(body["transport"], "tcp");
    assert_eq!(
        body["warnings"],
        json!([]),
        "loopback is allowed by the ACL"
    );
    // In force for the next call: lookups and trust by source.
    let got = app.gateways.get("trunk").expect("in force");
    assert_eq!(got.address(), "127.0.0.2:5062");
    let from: SocketAddr = "127.0.0.2:41000".parse().expect("sa");
    assert_eq!(
        app.gateways.trusted(from).map(|g| g.name),
        Some("trunk".into())
    );

    // Outside the ACL: accepted, with a warning.
    let (status, body) = app
        .call(
            Method::POST,
            "/api/v1/gateways",
            &admin,
            Some(json!({ "name": "far", "address": "[2001:db8::5]:5060" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["address"], "[2001:db8::5]:5060");
    assert_eq!(body["transport"], "udp");
    assert!(
        body["warnings"][0]
            .as_str()
            .unwrap_or_default()
            .contains("[acl]"),
        "{body}"
    );

    let (status, body) = app
        .call(
            Method::PUT,
            "/api/v1/gateways/trunk",
            &admin,
            Some(json!({ "address": "sip.example.net:5070", "trust_inbound_by_source": false })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["address"], "sip.example.net:5070");
    assert_eq!(body["transport"], "tcp", "kept");
    assert!(app.gateways.trusted(from).is_none(), "no longer trusted");

    let (status, _) = app
        .call(Method::DELETE, "/api/v1/gateways/far", &admin, None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(app.gateways.get("far").is_none());
    let (status, _) = app
        .call(Method::GET, "/api/v1/gateways/far", &admin, None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let audit = app.audit_actions(&admin).await;
    let actions: Vec<&str> = audit.iter().map(|(a, _, _)| a.as_str()).collect();
    for want in ["gateway.create", "gateway.update", "gateway.delete"] {
        assert!(actions.contains(&want), "{actions:?}");
    }

    let (dir, db) = app.stop().await;
    let app = app_on(dir, db).await;
    let names: Vec<String> = app
        .gateways
        .current()
        .iter()
        .map(|g| g.name.clone())
        .collect();
    assert_eq!(names, ["carrier", "trunk"]);
    let trunk = app.gateways.get("trunk").expect("persisted");
    assert_eq!((trunk.host.as_str(), trunk.port), ("sip.example.net", 5070));
    assert_eq!(trunk.transport, ListenTransport::Tcp);
    app.lifecycle.stop_and_wait().await;
}

#[tokio::test]
async fn gateway_conflicts_and_invalid_fields() {
    let app = app().await;
    let admin = app.session("root", ADMIN_PW).await;
    for (method, path, body) in [
        (
            Method::POST,
            "/api/v1/gateways",
            Some(json!({ "name": "carrier", "address": "127.0.0.1:5090" })),
        ),
        (
            Method::PUT,
            "/api/v1/gateways/carrier",
            Some(json!({ "address": "127.0.0.1:5090" })),
        ),
        (Method::DELETE, "/api/v1/gateways/carrier", None),
    ] {
        let (status, body) = app.call(method, path, &admin, body).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        assert!(body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("edit the file"));
    }
    assert_eq!(app.gateways.get("carrier"), Some(config_gateway()));
    for (body, field) in [
        (json!({ "address": "127.0.0.1:5090" }), "name"),
        (
            json!({ "name": "a b", "address": "127.0.0.1:5090" }),
            "name",
        ),
        (json!({ "name": "g" }), "address"),
        (json!({ "name": "g", "address": "127.0.0.1" }), "address"),
        (json!({ "name": "g", "address": "::1" }), "address"),
        (json!({ "name": "g", "address": "h:0" }), "address"),
        (
            json!({ "name": "g", "address": "h:5060", "transport": "sctp" }),
            "transport",
        ),
        (
            json!({ "name": "g", "address": "h:5060", "trust_inbound_by_source": true }),
            "trust_inbound_by_source",
        ),
        (
            json!({ "name": "g", "address": "h:5060", "trust_inbound_by_source": "yes" }),
            "trust_inbound_by_source",
        ),
        (
            json!({ "name": "g", "address": "h:5060", "register": true }),
            "register",
        ),
    ] {
        let (status, answer) = app
            .call(Method::POST, "/api/v1/gateways", &admin, Some(body))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
        assert_eq!(answer["detail"]["field"], field, "{answer}");
    }
    assert!(app.gateways.get("g").is_none());
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/gateways",
            &admin,
            Some(json!({ "name": "g", "address": "h:5060" })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .call(
            Method::POST,
            "/api/v1/gateways",
            &admin,
            Some(json!({ "name": "g", "address": "h:5061" })),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = app
        .call(
            Method::PUT,
            "/api/v1/gateways/g",
            &admin,
            Some(json!({ "name": "renamed" })),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["detail"]["field"], "name");
    let (status, _) = app
        .call(
            Method::PUT,
            "/api/v1/gateways/none",
            &admin,
            Some(json!({ "address": "h:1" })),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.lifecycle.stop_and_wait().await;
}
