//! The WHM simulator over raw HTTP (no client code): envelope, auth, every function,
//! enqueue's documented errors, whole sessions, the state machine, logs, faults, TLS,
//! persistence, and the responses the OpenAPI checker validates. One file per area;
//! the raw calls they share are here.

mod envelope;
mod faults;
mod logs;
mod openapi;
mod queue;
mod runs;
mod serving;
mod sessions;
mod states;

use crate::support::SimHttp;
use crate::support::wait::until_async;
use serde_json::Value;
use whm_migrate::sim::{SimHandle, SimOptions, SimStats, Simulator, TimeScale, World};

const TOKEN: &str = "SIMTOKEN";

fn basic_world() -> World {
    World::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/worlds/basic.toml"
    ))
    .expect("basic world")
}

/// A client for plain HTTP that keeps no idle connection.
fn http_client() -> reqwest::ClientBuilder {
    reqwest::Client::builder().pool_max_idle_per_host(0)
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn query(params: &[(&str, &str)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Raw WHM API 1 calls against one simulator, and its admin endpoints.
struct Api {
    http: reqwest::Client,
    base: String,
    admin: SimHttp,
}

impl Api {
    fn new(h: &SimHandle) -> Self {
        let admin = SimHttp::with_token(&h.base_url(), http_client(), TOKEN);
        Self {
            http: admin.http().clone(),
            base: admin.base().to_owned(),
            admin,
        }
    }

    async fn get(
        &self,
        function: &str,
        params: &[(&str, &str)],
    ) -> reqwest::Result<reqwest::Response> {
        let url = format!(
            "{}/json-api/{function}?api.version=1&{}",
            self.base,
            query(params)
        );
        self.http
            .get(url)
            .header("Authorization", format!("whm root:{TOKEN}"))
            .send()
            .await
    }

    async fn call(&self, function: &str, params: &[(&str, &str)]) -> Value {
        let resp = self.get(function, params).await.expect("request");
        assert_eq!(resp.status(), 200, "{function}");
        serde_json::from_str(&resp.text().await.expect("body")).expect("JSON body")
    }

    async fn post(&self, function: &str, params: &[(&str, &str)]) -> Value {
        let mut all = vec![("api.version", "1")];
        all.extend_from_slice(params);
        let resp = self
            .http
            .post(format!("{}/json-api/{function}", self.base))
            .header("Authorization", format!("WHM root:{TOKEN}"))
            .form(&all)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200);
        serde_json::from_str(&resp.text().await.expect("body")).expect("JSON body")
    }

    async fn stats(&self) -> SimStats {
        self.admin.stats().await
    }

    async fn admin(&self, path: &str, body: Option<Value>) -> Value {
        self.admin.post(path, body).await
    }

    async fn create_root(&self) -> String {
        let v = self
            .call(
                "create_remote_root_transfer_session",
                &[
                    ("host", "src.example.com"),
                    ("user", "root"),
                    ("password", "rootpw"),
                    ("transfer_threads", "2"),
                    ("restore_threads", "2"),
                ],
            )
            .await;
        assert!(ok(&v), "{v}");
        v["data"]["transfer_session_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn enqueue(&self, id: &str, module: &str, extra: &[(&str, &str)]) -> Value {
        let mut p = vec![("transfer_session_id", id), ("module", module)];
        p.extend_from_slice(extra);
        self.call("enqueue_transfer_item", &p).await
    }

    async fn enqueue_account(&self, id: &str, user: &str) {
        let v = self
            .enqueue(
                id,
                "AccountRemoteRoot",
                &[("user", user), ("localuser", user)],
            )
            .await;
        assert!(ok(&v), "{v}");
    }

    async fn state(&self, id: &str) -> String {
        let v = self
            .call("get_transfer_session_state", &[("transfer_session_id", id)])
            .await;
        v["data"]["state_name"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    async fn wait_state(&self, id: &str, want: &str) {
        until_async(&format!("session {id} to be {want}"), async || {
            self.state(id).await == want
        })
        .await;
    }

    async fn log(&self, id: &str, file: &str) -> Value {
        self.call(
            "fetch_transfer_session_log",
            &[("transfer_session_id", id), ("logfile", file)],
        )
        .await
    }

    async fn records(&self, id: &str, file: &str) -> Vec<Value> {
        let v = self.log(id, file).await;
        assert!(ok(&v), "{v}");
        let text = v["data"]["log"].as_str().unwrap();
        assert!(text.is_empty() || text.ends_with('\n'));
        text.lines()
            .map(|l| serde_json::from_str(l).expect("JSON record"))
            .collect()
    }
}

fn ok(v: &Value) -> bool {
    let r = &v["metadata"]["result"];
    r == 1 || r == "1"
}

fn reason(v: &Value) -> &str {
    v["metadata"]["reason"].as_str().unwrap_or_default()
}

fn has_xid(text: &str) -> bool {
    text.find("(XID ").is_some_and(|i| {
        let id = &text[i + 5..i + 11];
        id.bytes()
            .all(|b| b"abcdefghjkmnpqrstuvwxyz23456789".contains(&b))
            && text[i + 11..].starts_with(") ")
    })
}

async fn start(world: World, opts: SimOptions) -> (SimHandle, Api) {
    let h = Simulator::start(world, opts)
        .await
        .expect("simulator starts");
    let api = Api::new(&h);
    (h, api)
}

fn slow() -> SimOptions {
    SimOptions {
        time_scale: TimeScale {
            item_overhead_ms: 60,
            ..TimeScale::default()
        },
        ..SimOptions::default()
    }
}

/// Every item step takes half a second: a session started is still running when the
/// next few calls arrive, however loaded the machine is.
fn held() -> SimOptions {
    SimOptions {
        time_scale: TimeScale {
            item_overhead_ms: 500,
            ..TimeScale::default()
        },
        ..SimOptions::default()
    }
}

fn actions(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| {
            r["contents"]["action"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}
