//! Connecting: plain headers, the base58 subprotocol (echoed), and refusals before the upgrade.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::support::*;

#[tokio::test]
async fn headers_connect_a_user() {
    let server = start().await;
    let mut client = connect(server.local_addr(), Tenant::DEMO).await;
    let reply = client
        .subscribe("kvStore", "World:kvstoreClient:testKey")
        .await;
    assert_eq!(reply, warning("KVStore"));
    stop(server).await;
}

/// Offers `lines` as a base58 subprotocol and expects 101 with the same value selected.
async fn connect_by_protocol(server: &reference_server::ServerHandle, lines: &str) -> Client {
    let token = base58(lines);
    let offered = [("sec-websocket-protocol", token.as_str())];
    match handshake(server.local_addr(), &offered).await {
        Handshake::Accepted(client, selected) => {
            assert_eq!(
                selected.as_deref(),
                Some(token.as_str()),
                "subprotocol echo"
            );
            *client
        }
        Handshake::Refused(status, body) => panic!("{lines:?} refused with {status}: {body}"),
    }
}

/// The connection acts as `user` in the demo project: a value written for it by HTTP reaches it.
/// Each call uses a fresh key, so several connections can be checked on one server.
async fn assert_acts_as(
    server: &reference_server::ServerHandle,
    client: &mut Client,
    tenant: Tenant,
    user: &str,
) {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let key = format!("who{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let id = format!("Project:kvstoreClient:{key}");
    assert_eq!(client.subscribe("kvStore", &id).await, warning("KVStore"));
    Api::new(server.local_addr(), tenant)
        .upsert(user, "Project", &key, serde_json::json!(user))
        .await;
    let push = client.recv().await;
    assert_success(&push, user, "kvStore", &id);
    assert_eq!(push["data"], user);
}

#[tokio::test]
async fn base58_subprotocol_with_id_names_is_echoed() {
    let server = start().await;
    let mut client = connect_by_protocol(&server, &Tenant::DEMO.lines()).await;
    assert_acts_as(&server, &mut client, Tenant::DEMO, "demoUser").await;
    stop(server).await;
}

#[tokio::test]
async fn base58_subprotocol_with_short_names() {
    let server = start().await;
    let lines = "x-api-key:m2-demo-key-2\nx-m2-organization:testOrg\nx-m2-project:testProj\nx-m2-world:testWorld";
    let mut client = connect_by_protocol(&server, lines).await;
    assert_acts_as(&server, &mut client, Tenant::DEMO_2, "demoUser2").await;
    let reply = client.subscribe("kvStore", "World:kvstoreClient:k").await;
    assert_eq!(
        reply,
        warning("KVStore"),
        "the world was read from the short name"
    );
    stop(server).await;
}

#[tokio::test]
async fn the_documents_example_format_with_a_space_crlf_and_padding() {
    let server = start().await;
    // The example prints the separator as a space; CRLF and padded pairs are tolerated too.
    for lines in [
        "x-api-key:m2-demo-key x-m2-organization:testOrg x-m2-project:testProj",
        "x-api-key: m2-demo-key\r\n x-m2-organization : testOrg \r\nx-m2-project:testProj\r\n",
    ] {
        let mut client = connect_by_protocol(&server, lines).await;
        assert_acts_as(
            &server,
            &mut client,
            Tenant::DEMO.project_only(),
            "demoUser",
        )
        .await;
    }
    stop(server).await;
}

#[tokio::test]
async fn subprotocol_and_headers_combine() {
    let server = start().await;
    let token = base58("x-m2-organization:testOrg\nx-m2-project:testProj");
    let headers = [
        ("x-api-key", DEMO_KEY),
        ("sec-websocket-protocol", token.as_str()),
    ];
    match handshake(server.local_addr(), &headers).await {
        Handshake::Accepted(mut client, selected) => {
            assert_eq!(selected.as_deref(), Some(token.as_str()));
            assert_acts_as(
                &server,
                &mut client,
                Tenant::DEMO.project_only(),
                "demoUser",
            )
            .await;
        }
        Handshake::Refused(status, body) => panic!("refused with {status}: {body}"),
    }
    stop(server).await;
}

#[tokio::test]
async fn refusals_before_the_upgrade() {
    let server = start().await;
    let addr = server.local_addr();
    let org = ("x-m2-organization-id", "testOrg");
    let key = ("x-api-key", DEMO_KEY);
    let cases: Vec<(Vec<(&str, &str)>, u16)> = vec![
        (vec![org], 401),
        (vec![("x-api-key", "not-a-key"), org], 401),
        (vec![key], 401),
        (vec![key, ("x-m2-organization-id", "otherOrg")], 403),
        (vec![("x-api-key", OTHER_KEY), org], 403),
        (vec![key, org, ("x-m2-project-id", "otherProj")], 403),
        (
            vec![
                key,
                org,
                ("x-m2-project-id", "testProj"),
                ("x-m2-world-id", "otherWorld"),
            ],
            403,
        ),
        (vec![key, org, ("x-m2-world-id", "testWorld")], 400),
        // HTTP headers use the -id names only.
        (vec![key, ("x-m2-organization", "testOrg")], 400),
        (
            vec![key, org, ("sec-websocket-protocol", "not%base58")],
            400,
        ),
        (vec![key, org, ("sec-websocket-protocol", "json")], 400),
    ];
    for (headers, status) in cases {
        let (got, error) = refused(addr, &headers).await;
        assert_eq!(got, status, "{headers:?}: {error}");
    }
    stop(server).await;
}

#[tokio::test]
async fn refused_subprotocol_header_sets() {
    let server = start().await;
    let addr = server.local_addr();
    for (lines, status) in [
        // The document's example as printed carries no key.
        ("x-m2-organization:testOrg\nx-m2-project:testProj", 401),
        (
            "x-api-key:m2-demo-key\nx-m2-world:testWorld\nx-m2-organization:testOrg",
            400,
        ),
        (
            "x-api-key:m2-demo-key\nx-m2-organization:testOrg\nx-m2-organization-id:testOrg",
            400,
        ),
        (
            "x-api-key:m2-demo-key\nx-m2-organization:testOrg\nx-m2-org:testOrg",
            400,
        ),
        ("x-api-key:m2-demo-key\nx-m2-organization:otherOrg", 403),
    ] {
        let token = base58(lines);
        let (got, error) = refused(addr, &[("sec-websocket-protocol", token.as_str())]).await;
        assert_eq!(got, status, "{lines:?}: {error}");
    }
    stop(server).await;
}

#[tokio::test]
async fn header_and_subprotocol_must_agree() {
    let server = start().await;
    let token = base58("x-api-key:m2-demo-key\nx-m2-organization:testOrg");
    let headers = [
        ("x-m2-organization-id", "otherOrg"),
        ("sec-websocket-protocol", token.as_str()),
    ];
    let (status, error) = refused(server.local_addr(), &headers).await;
    assert_eq!(status, 400, "{error}");
    stop(server).await;
}
