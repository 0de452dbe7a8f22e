//! The deployment tools over MCP: the real `pixelsmith mcp` binary driven by rmcp's client,
//! deploying to the OSC stand-in with tokens only in the server's environment, and never
//! returning one (results, errors, progress notifications and the server's own logs are checked).
//!
//! Needs the deploy router combined into the server (`src/mcp/server.rs`).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::deploy::{GIT_TOKEN, PAT, World};
use crate::support::module::module_bytes;
use crate::support::osc_standin::Faults;

/// Records the progress notifications the server sends.
#[derive(Clone, Default)]
struct ProgressRecorder(Arc<Mutex<Vec<String>>>);

impl rmcp::ClientHandler for ProgressRecorder {
    async fn on_progress(
        &self,
        params: rmcp::model::ProgressNotificationParam,
        _: rmcp::service::NotificationContext<rmcp::RoleClient>,
    ) {
        self.0
            .lock()
            .unwrap()
            .push(params.message.unwrap_or_default());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_tools_deploy_and_manage_without_ever_returning_a_token() {
    use rmcp::ServiceExt as _;
    use rmcp::model::{
        CallToolRequestParams, CallToolResult, NumberOrString, ProgressToken, RequestMetaObject,
    };
    use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
    use serde_json::{Value, json};

    let w = World::new().await;
    w.module_file("m.wasm", &module_bytes());
    let standin = &w.standin;
    // The server's roots: the world's folder. Tokens and URLs only in its environment.
    let command = tokio::process::Command::new(env!("CARGO_BIN_EXE_pixelsmith")).configure(|c| {
        c.arg("mcp")
            .current_dir(w.dir.path())
            .env_remove("PIXELSMITH_ROOTS")
            .env("PIXELSMITH_LOG", "trace")
            .env("OSC_ACCESS_TOKEN", PAT)
            .env("GITHUB_TOKEN", GIT_TOKEN)
            .env("OSC_DEPLOY_URL", &standin.deploy_url)
            .env("OSC_CATALOG_URL", &standin.catalog_url)
            .env("OSC_TOKEN_URL", &standin.token_url)
            .env("OSC_MCP_URL", &standin.mcp_url);
    });
    let (transport, stderr) = TokioChildProcess::builder(command)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("pixelsmith mcp starts");
    // Read the server's logs while it runs (a full pipe would block it).
    let server_logs = tokio::spawn(async move {
        use tokio::io::AsyncReadExt as _;
        let mut text = String::new();
        if let Some(mut stderr) = stderr {
            let _ = stderr.read_to_string(&mut text).await;
        }
        text
    });
    let progress = ProgressRecorder::default();
    let client = progress.clone().serve(transport).await.expect("handshake");

    let tools = client.list_all_tools().await.unwrap();
    let annotations = |name: &str| {
        let tool = tools
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no {name}"));
        tool.annotations.clone().expect("annotations")
    };
    assert_eq!(annotations("deploy").destructive_hint, Some(true));
    assert_eq!(
        annotations("remove_deployment").destructive_hint,
        Some(true)
    );
    for read_only in ["deployment_status", "deployment_logs", "list_deployments"] {
        assert_eq!(
            annotations(read_only).read_only_hint,
            Some(true),
            "{read_only}"
        );
    }
    assert_eq!(
        annotations("restart_deployment").read_only_hint,
        Some(false)
    );

    let mut seen = String::new();
    let mut call = async |tool: &str, args: Value| -> CallToolResult {
        let Value::Object(arguments) = args else {
            unreachable!()
        };
        let mut params = CallToolRequestParams::new(tool.to_owned()).with_arguments(arguments);
        params.meta = Some(RequestMetaObject::with_progress_token(ProgressToken(
            NumberOrString::Number(7),
        )));
        let result = client
            .call_tool(params)
            .await
            .expect("a tool result, not a protocol error");
        seen.push_str(&serde_json::to_string(&result).unwrap());
        result
    };
    let text = |r: &CallToolResult| -> String {
        r.content
            .iter()
            .filter_map(|c| c.as_text().map(|t| t.text.clone()))
            .collect()
    };
    let base = json!({
        "name": "viamcp", "target": "instance", "wasm_path": "m.wasm",
        "project_dir": "source", "repo": "remote.git", "wait_timeout_secs": 60
    });

    let mut dry = base.clone();
    dry["dry_run"] = json!(true);
    let plan = call("deploy", dry).await;
    assert_ne!(plan.is_error, Some(true), "{}", text(&plan));
    assert_eq!(
        plan.structured_content.as_ref().unwrap()["action"],
        "would create"
    );

    let deployed = call("deploy", base.clone()).await;
    assert_ne!(deployed.is_error, Some(true), "{}", text(&deployed));
    let report = deployed.structured_content.clone().unwrap();
    assert_eq!(report["action"], "created");
    let url = report["url"].as_str().unwrap().to_owned();
    assert_eq!(Some(url.clone()), standin.url_of("viamcp"));
    assert!(report["gateway_command"].as_str().unwrap().ends_with(&url));
    assert!(
        progress
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|m| m.contains("Verify")),
        "no progress notifications: {:?}",
        progress.0.lock().unwrap()
    );

    let named = json!({"name": "viamcp", "target": "instance"});
    let status = call("deployment_status", named.clone()).await;
    assert_eq!(status.structured_content.unwrap()["state"], "running");
    let logs = call("deployment_logs", named.clone()).await;
    assert!(
        logs.structured_content.unwrap()["text"]
            .as_str()
            .unwrap()
            .contains("cloning")
    );
    let restarted = call("restart_deployment", named.clone()).await;
    assert_ne!(restarted.is_error, Some(true), "{}", text(&restarted));
    let listed = call("list_deployments", json!({"target": "instance"})).await;
    assert_eq!(
        listed.structured_content.unwrap()["deployments"][0]["name"],
        "viamcp"
    );
    // viamcp is an instance: as a My App it does not exist.
    let myapp_logs = call("deployment_logs", json!({"name": "viamcp"})).await;
    assert_eq!(myapp_logs.is_error, Some(true));
    assert!(
        text(&myapp_logs).contains("no My App named"),
        "{}",
        text(&myapp_logs)
    );

    // A My App: created, then a changed module restarts it in place (same URL) through OSC's
    // MCP server, logs come from there too, and only `recreate: true` gives it a new URL.
    let app = json!({
        "name": "viamcpapp", "wasm_path": "m.wasm", "project_dir": "source",
        "repo": "remote.git", "wait_timeout_secs": 60
    });
    let created = call("deploy", app.clone()).await;
    assert_ne!(created.is_error, Some(true), "{}", text(&created));
    let app_url = created.structured_content.unwrap()["url"].clone();
    w.module_file(
        "m2.wasm",
        &crate::deploy::with_marker(&module_bytes(), "via mcp"),
    );
    let mut changed = app.clone();
    changed["wasm_path"] = json!("m2.wasm");
    let updated = call("deploy", changed.clone()).await;
    assert_ne!(updated.is_error, Some(true), "{}", text(&updated));
    let updated = updated.structured_content.unwrap();
    assert_eq!(updated["action"], "updated");
    assert_eq!(updated["update"]["method"], "restarted");
    assert_eq!(updated["url"], app_url);
    let app_logs = call("deployment_logs", json!({"name": "viamcpapp", "lines": 5})).await;
    assert_ne!(app_logs.is_error, Some(true), "{}", text(&app_logs));
    assert!(
        app_logs.structured_content.unwrap()["text"]
            .as_str()
            .unwrap()
            .contains("Server listening")
    );
    changed["recreate"] = json!(true);
    changed["dry_run"] = json!(true);
    let plan = call("deploy", changed.clone()).await;
    let plan = plan.structured_content.unwrap();
    assert_eq!(plan["action"], "would re-create");
    assert!(
        plan["plan"].to_string().contains("THE URL WILL CHANGE"),
        "{plan}"
    );
    changed["dry_run"] = json!(false);
    let recreated = call("deploy", changed).await;
    assert_ne!(recreated.is_error, Some(true), "{}", text(&recreated));
    let recreated = recreated.structured_content.unwrap();
    assert_eq!(recreated["action"], "re-created");
    assert_ne!(recreated["url"], app_url);
    assert_eq!(standin.count("mcp", "tools/call", "restart-my-app"), 1);

    // OSC's MCP server refusing the token, quoting it back: a clear tool error, and neither the
    // result nor the server's log (rmcp logs the refusal) shows the token.
    standin.set_faults(Faults {
        mcp_refuses_token: true,
        echo_credentials_in_401: true,
        ..Faults::default()
    });
    let refused = call("deployment_logs", json!({"name": "viamcpapp"})).await;
    assert_eq!(refused.is_error, Some(true));
    assert!(
        text(&refused).contains("check OSC_ACCESS_TOKEN"),
        "{}",
        text(&refused)
    );
    standin.set_faults(Faults::default());

    // Refusals are tool errors an agent can act on.
    let outside = call(
        "deploy",
        json!({"wasm_path": "/etc/hostname", "dry_run": true}),
    )
    .await;
    assert_eq!(outside.is_error, Some(true), "{}", text(&outside));
    let typo = call("deploy", json!({"nmae": "x"})).await;
    assert_eq!(typo.is_error, Some(true), "{}", text(&typo));
    // A bad value names its argument, as pixelate's do.
    let negative = call("deployment_logs", json!({"name": "viamcp", "lines": -5})).await;
    assert_eq!(negative.is_error, Some(true), "{}", text(&negative));
    assert!(
        text(&negative).contains("argument `lines`"),
        "{}",
        text(&negative)
    );
    let unconfirmed = call(
        "remove_deployment",
        json!({"name": "viamcp", "confirm": "viamc", "target": "instance"}),
    )
    .await;
    assert_eq!(unconfirmed.is_error, Some(true));
    assert!(
        text(&unconfirmed).contains("does not match"),
        "{}",
        text(&unconfirmed)
    );
    assert_eq!(standin.names("instance"), ["viamcp"]);
    let removed = call(
        "remove_deployment",
        json!({"name": "viamcp", "confirm": "viamcp", "target": "instance"}),
    )
    .await;
    assert_ne!(removed.is_error, Some(true), "{}", text(&removed));
    assert!(standin.names("instance").is_empty());

    client.cancel().await.ok();
    let logs = tokio::time::timeout(Duration::from_secs(10), server_logs)
        .await
        .expect("the server exits")
        .unwrap();
    assert!(logs.contains("TRACE"), "the server logged nothing: {logs}");
    seen.push_str(&progress.0.lock().unwrap().join("\n"));
    seen.push_str(&logs);
    for secret in [PAT, GIT_TOKEN, "standin-sat-"] {
        assert!(
            !seen.contains(secret),
            "{secret} leaked through MCP:\n{seen}"
        );
    }
}
