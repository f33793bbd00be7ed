//! Target files and `{{placeholder}}` templates.

use conformance::case::{Case, CaseError, Kind, Level, Need, Reference};
use conformance::target::actuate;
use conformance::target::template::{self, Context, TemplateError, Vars};
use conformance::target::{Target, TargetError};
use conformance::Profile;
use serde_json::{json, Value};

fn vars(pairs: &[(&str, Value)]) -> Vars {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

#[test]
fn body_placeholders_become_json_encodings() {
    let v = vars(&[
        ("key", json!("a \"quoted\" key")),
        ("data", json!({"n": 1, "list": [true, null]})),
        ("count", json!(3)),
    ]);
    let body = template::render_body(
        r#"{"key": {{key}}, "data": {{ data }}, "n": {{count}}}"#,
        &v,
    )
    .unwrap();
    assert_eq!(
        body,
        json!({"key": "a \"quoted\" key", "data": {"n": 1, "list": [true, null]}, "n": 3})
    );
}

#[test]
fn url_placeholders_are_url_encoded_except_the_base() {
    let v = vars(&[
        ("endpoint", json!("http://127.0.0.1:9")),
        ("name", json!("a b/c?d")),
        ("n", json!(5)),
    ]);
    let url = template::render(
        "{{endpoint}}/api/liveconfig/{{name}}?n={{n}}",
        &v,
        Context::Url,
    )
    .unwrap();
    assert_eq!(url, "http://127.0.0.1:9/api/liveconfig/a%20b%2Fc%3Fd?n=5");
}

#[test]
fn header_placeholders_take_the_plain_text() {
    let v = vars(&[("token", json!("abc.def")), ("n", json!(7))]);
    assert_eq!(
        template::render("Bearer {{token}} #{{n}}", &v, Context::Header).unwrap(),
        "Bearer abc.def #7"
    );
}

#[test]
fn an_unknown_placeholder_names_the_known_ones() {
    let v = vars(&[("known", json!(1))]);
    let error = template::render("{{unknown}}", &v, Context::Header).unwrap_err();
    match &error {
        TemplateError::Unknown { name, known, .. } => {
            assert_eq!(name, "unknown");
            assert_eq!(known, "known");
        }
        other => panic!("expected Unknown, got {other:?}"),
    }
    assert!(error.to_string().contains("{{unknown}}"), "{error}");
}

#[test]
fn malformed_templates_are_reported() {
    assert_eq!(
        template::render("{{open", &Vars::new(), Context::Body),
        Err(TemplateError::Unclosed("{{open".into()))
    );
    assert!(matches!(
        template::check_body(r#"{"a": {{x}}"#),
        Err(TemplateError::BodyNotJson { .. })
    ));
    assert!(template::check_body(r#"[{"a": {{x}}, "b": {{y}}}]"#).is_ok());
}

#[test]
fn the_reference_target_loads_with_an_endpoint() {
    let target = Target::reference_server("http://127.0.0.1:8080/").unwrap();
    assert_eq!(target.name, "reference-server");
    assert_eq!(target.vars["endpoint"], json!("http://127.0.0.1:8080"));
    assert_eq!(
        target.ws_url(Profile::M2).unwrap(),
        "ws://127.0.0.1:8080/api/realtime/connect/"
    );
    assert_eq!(
        target.ws_url(Profile::Gamevault).unwrap(),
        "ws://127.0.0.1:8080/socket.io/"
    );
    for profile in Profile::ALL {
        let section = target.profile(profile).unwrap();
        assert!(
            section.credentials.contains_key("primary"),
            "{profile} has no primary credential"
        );
    }
    let https = Target::reference_server("https://example.com").unwrap();
    assert_eq!(
        https.ws_url(Profile::Skapi).unwrap(),
        "wss://example.com/realtime"
    );
}

#[test]
fn the_reference_target_renders_the_kv_upsert_request() {
    let target = Target::reference_server("http://127.0.0.1:8080").unwrap();
    let section = target.profile(Profile::M2).unwrap();
    let mut v = target.vars.clone();
    v.extend(section.credentials["primary"].fields.clone());
    v.extend(vars(&[
        ("store", json!("kvstoreClient")),
        ("key", json!("k1")),
        ("scope", json!("World")),
        ("data", json!({"score": 1})),
    ]));
    let request = actuate::render(&section.actuators["kv_upsert"], &v).unwrap();
    assert_eq!(request.method, "POST");
    assert_eq!(request.url, "http://127.0.0.1:8080/api/kvstore/upsert/");
    assert!(request
        .headers
        .contains(&("x-api-key".to_owned(), "m2-demo-key".to_owned())));
    assert_eq!(
        request.body,
        Some(
            json!({"id": "demoUser", "store": "kvstoreClient", "key": "k1", "data": {"score": 1}, "scope": "World"})
        )
    );
}

#[test]
fn a_target_using_the_endpoint_needs_one() {
    let text = "[m2]\nurl = \"{{ws_endpoint}}/x\"\n";
    assert!(matches!(
        Target::parse(text, "t", None),
        Err(TargetError::NoEndpoint { .. })
    ));
    assert!(Target::parse(text, "t", Some("http://h:1")).is_ok());
    let fixed = "endpoint = \"http://h:2\"\n[m2]\nurl = \"{{ws_endpoint}}/x\"\n";
    assert_eq!(
        Target::parse(fixed, "t", None)
            .unwrap()
            .ws_url(Profile::M2)
            .unwrap(),
        "ws://h:2/x"
    );
}

#[test]
fn invalid_target_files_are_refused_with_the_place() {
    let cases = [
        ("[m2]\nurl = \"ws://h/x\"\nbogus = 1\n", "bogus"),
        ("[timeouts]\nwait = \"soon\"\n", "[timeouts] wait"),
        ("[skip]\n\"m2.[\" = \"why\"\n", "[skip]"),
        (
            "[m2]\nurl = \"ws://h/x\"\n[m2.actuators.a]\nmethod = \"POST\"\nurl = \"http://h/\"\nbody = '{\"a\": {{x}}'\n",
            "[m2.actuators.a] body",
        ),
        (
            "[m2]\nurl = \"ws://h/x\"\n[m2.actuators.a]\nmethod = \"P O S T\"\nurl = \"http://h/\"\n",
            "method",
        ),
        ("endpoint = \"ftp://h\"\n", "endpoint"),
    ];
    for (text, expected) in cases {
        let error = Target::parse(text, "t.toml", None)
            .expect_err(text)
            .to_string();
        assert!(
            error.contains(expected),
            "error for {text:?} does not name {expected:?}: {error}"
        );
        assert!(
            error.contains("t.toml"),
            "error does not name the file: {error}"
        );
    }
}

async fn never_runs(_ctx: conformance::Ctx) -> conformance::CaseResult {
    Err(CaseError::fail("not run in these tests"))
}

fn case_needing(requires: &'static [Need], profile: Profile) -> Case {
    Case {
        id: "m2.test.needs",
        profile,
        level: Level::Must,
        title: "needs",
        reference: Reference {
            source: "spec/seeds/m2-realtime.txt",
            quote: "Realtime",
        },
        kind: Kind::Scenario,
        requires,
        run: |ctx| Box::pin(never_runs(ctx)),
    }
}

#[test]
fn unmet_needs_and_skip_globs_give_reasons() {
    let text = r#"
[skip]
"directus.heartbeat.*" = "too slow here"

[m2]
url = "ws://h/x"
parameters = { period = "1s" }
[m2.credentials.primary]
api_key = "k"

[directus]
url = "ws://h/websocket"
"#;
    let target = Target::parse(text, "t", None).unwrap();
    assert_eq!(
        target.skip_reason("directus.heartbeat.ping-period"),
        Some("too slow here")
    );
    assert_eq!(target.skip_reason("directus.subscribe.uid-echo"), None);
    let met = case_needing(
        &[Need::Credential("primary"), Need::Parameter("period")],
        Profile::M2,
    );
    assert_eq!(target.unmet(&met), None);
    let reason = target
        .unmet(&case_needing(&[Need::Actuator("kv_upsert")], Profile::M2))
        .unwrap();
    assert!(reason.contains("actuator `kv_upsert`"), "{reason}");
    let reason = target
        .unmet(&case_needing(
            &[Need::Credential("other_tenant")],
            Profile::M2,
        ))
        .unwrap();
    assert!(reason.contains("credential set `other_tenant`"), "{reason}");
    // Directus items are in-protocol by default: the actuator is met without an HTTP template.
    assert_eq!(
        target.unmet(&case_needing(
            &[Need::Actuator("create_item")],
            Profile::Directus
        )),
        None
    );
    let reason = target.unmet(&case_needing(&[], Profile::Skapi)).unwrap();
    assert!(reason.contains("no [skapi] section"), "{reason}");
}
