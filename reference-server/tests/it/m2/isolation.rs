//! A subscriber never receives a change of another organization, project, world or user.

use reference_server::m2::{Organization, Project};
use serde_json::json;

use super::support::*;

#[tokio::test]
async fn users_and_organizations_do_not_see_each_others_stores() {
    let server = start().await;
    let addr = server.local_addr();
    let id = "World:kvstoreClient:shared";
    let mut demo = connect(addr, Tenant::DEMO).await;
    let mut demo_2 = connect(addr, Tenant::DEMO_2).await;
    let mut other = connect(addr, Tenant::OTHER).await;
    for client in [&mut demo, &mut demo_2, &mut other] {
        assert_eq!(client.subscribe("kvStore", id).await, warning("KVStore"));
        assert_eq!(
            client.subscribe("collection", "public").await,
            warning("Collection")
        );
    }

    Api::new(addr, Tenant::DEMO)
        .upsert("demoUser", "World", "shared", json!("mine"))
        .await;
    assert_eq!(demo.recv().await["data"], "mine");
    assert!(
        demo_2.barrier().await.is_empty(),
        "another user of the organization"
    );
    assert!(other.barrier().await.is_empty(), "another organization");

    Api::new(addr, Tenant::OTHER)
        .upsert("otherUser", "World", "shared", json!("theirs"))
        .await;
    let push = other.recv().await;
    assert_success(&push, "otherUser", "kvStore", id);
    assert_eq!(push["data"], "theirs");
    assert!(demo.barrier().await.is_empty());
    assert!(demo_2.barrier().await.is_empty());

    Api::new(addr, Tenant::DEMO_2)
        .post(
            "/api/datasources/transfer",
            json!([{"userId": "demoUser2", "datasourceId": "public", "objectDefinitionId": "hat", "change": 1}]),
        )
        .await;
    assert_eq!(demo_2.recv().await["data"]["userId"], "demoUser2");
    assert!(demo.barrier().await.is_empty());
    assert!(other.barrier().await.is_empty());
    stop(server).await;
}

#[tokio::test]
async fn worlds_and_projects_scope_the_store() {
    let server = start_with(|config| {
        config.m2.organizations = vec![Organization {
            id: "testOrg".into(),
            projects: vec![
                Project {
                    id: "testProj".into(),
                    worlds: vec!["testWorld".into(), "world2".into()],
                },
                Project {
                    id: "proj2".into(),
                    worlds: vec![],
                },
            ],
        }];
    })
    .await;
    let addr = server.local_addr();
    let world_1 = Tenant::DEMO;
    let world_2 = Tenant::DEMO.in_world("world2");
    let project_2 = Tenant {
        project: Some("proj2"),
        ..Tenant::DEMO.project_only()
    };
    let mut in_1 = connect(addr, world_1).await;
    let mut in_2 = connect(addr, world_2).await;
    let mut in_p2 = connect(addr, project_2).await;
    for client in [&mut in_1, &mut in_2] {
        assert_eq!(
            client.subscribe("kvStore", "World:kvstoreClient:k").await,
            warning("KVStore")
        );
    }
    for client in [&mut in_1, &mut in_2, &mut in_p2] {
        assert_eq!(
            client.subscribe("kvStore", "Project:kvstoreClient:k").await,
            warning("KVStore")
        );
        assert_eq!(
            client
                .subscribe("kvStore", "Organization:kvstoreClient:k")
                .await,
            warning("KVStore")
        );
        assert_eq!(
            client.subscribe("liveConfig", "game").await,
            warning("LiveConfig")
        );
    }

    // A world value reaches only that world.
    Api::new(addr, world_1)
        .upsert("demoUser", "World", "k", json!("w1"))
        .await;
    let push = in_1.recv().await;
    assert_eq!(
        (&push["resource"]["id"], &push["data"]),
        (&json!("World:kvstoreClient:k"), &json!("w1"))
    );
    assert!(in_2.barrier().await.is_empty());
    assert!(in_p2.barrier().await.is_empty());

    // A project value reaches both worlds of the project, not the other project.
    Api::new(addr, world_2)
        .upsert("demoUser", "Project", "k", json!("p"))
        .await;
    for client in [&mut in_1, &mut in_2] {
        let push = client.recv().await;
        assert_eq!(
            (&push["resource"]["id"], &push["data"]),
            (&json!("Project:kvstoreClient:k"), &json!("p"))
        );
    }
    assert!(in_p2.barrier().await.is_empty());

    // An organization value reaches every connection of the organization.
    Api::new(addr, project_2)
        .upsert("demoUser", "Organization", "k", json!("o"))
        .await;
    for client in [&mut in_1, &mut in_2, &mut in_p2] {
        let push = client.recv().await;
        assert_eq!(
            (&push["resource"]["id"], &push["data"]),
            (&json!("Organization:kvstoreClient:k"), &json!("o"))
        );
    }

    // Live config belongs to the project.
    let (status, _) = Api::new(addr, project_2)
        .put("/api/liveconfig/game", json!({"mode": "p2"}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(in_p2.recv().await["data"], json!({"mode": "p2"}));
    assert!(in_1.barrier().await.is_empty());
    assert!(in_2.barrier().await.is_empty());
    stop(server).await;
}

#[tokio::test]
async fn organization_level_live_config_is_separate_from_project_level() {
    let server = start().await;
    let addr = server.local_addr();
    let mut org_level = connect(addr, Tenant::DEMO.organization_only()).await;
    let mut project_level = connect(addr, Tenant::DEMO.project_only()).await;
    let mut other = connect(addr, Tenant::OTHER.organization_only()).await;
    for client in [&mut org_level, &mut project_level, &mut other] {
        assert_eq!(
            client.subscribe("liveConfig", "game").await,
            warning("LiveConfig")
        );
    }
    Api::new(addr, Tenant::DEMO.organization_only())
        .put("/api/liveconfig/game", json!({"level": "org"}))
        .await;
    assert_eq!(org_level.recv().await["data"], json!({"level": "org"}));
    assert!(project_level.barrier().await.is_empty());
    assert!(other.barrier().await.is_empty());
    stop(server).await;
}
