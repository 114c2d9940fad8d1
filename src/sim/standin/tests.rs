//! The stand-ins against a simulator in this process: each command's output shape and exit
//! codes, and the rollbacks they drive changing the simulated system.

use super::*;
use crate::sim::{self, edn360, hse, Profile, Scenario, SimHandle, SimOptions};
use serde_json::{json, Value};
use std::collections::BTreeMap;

async fn sim_of(profile: Profile, scenario: Scenario) -> SimHandle {
    let mut o = SimOptions::new(profile);
    o.scenario = scenario;
    sim::start(o).await.unwrap()
}

/// An environment with the simulator's control URL and a region, plus `extra`.
fn env_for(h: &SimHandle, extra: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut e = BTreeMap::new();
    e.insert(CONTROL_ENV.to_string(), h.control_url());
    e.insert("AWS_REGION".to_string(), "eu-west-1".to_string());
    for (k, v) in extra {
        e.insert(k.to_string(), v.to_string());
    }
    e
}

async fn sh(tool: Tool, env: &BTreeMap<String, String>, args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let get = |k: &str| env.get(k).cloned();
    run(tool, &args, &get).await
}

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", o.stdout_text()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_ssm_get_parameter_shapes_and_errors() {
    let h = sim_of(Profile::Hse, Scenario::Healthy).await;
    let env = env_for(&h, &[]);
    let name = hse::PARAMETER;
    let o = sh(Tool::Aws, &env, &["ssm", "get-parameter", "--name", name]).await;
    assert_eq!(o.code, 0, "{}", o.stderr_text());
    assert!(
        o.stdout_text().starts_with("{\n    \"Parameter\": {\n"),
        "indented by 4: {}",
        o.stdout_text()
    );
    let v = json_of(&o);
    assert_eq!(v["Parameter"]["Value"], "10");
    assert_eq!(v["Parameter"]["Name"], name);
    let when = v["Parameter"]["LastModifiedDate"].as_str().unwrap();
    assert!(
        when.ends_with("+00:00") && when.contains('T'),
        "ISO 8601 as the CLI prints: {when}"
    );
    // --query … --output text: the bare value.
    let o = sh(
        Tool::Aws,
        &env,
        &[
            "ssm",
            "get-parameter",
            "--name",
            name,
            "--query",
            "Parameter.Value",
            "--output",
            "text",
        ],
    )
    .await;
    assert_eq!((o.code, o.stdout_text()), (0, "10\n".to_string()));
    let o = sh(
        Tool::Aws,
        &env,
        &[
            "--output=json",
            "ssm",
            "get-parameter",
            "--name",
            name,
            "--query=Parameter.Version",
        ],
    )
    .await;
    assert_eq!(o.stdout_text(), "1\n");
    // Text without a query: the CLI's row.
    let o = sh(
        Tool::Aws,
        &env,
        &["ssm", "get-parameter", "--name", name, "--output", "text"],
    )
    .await;
    let row: Vec<String> = o
        .stdout_text()
        .trim_end()
        .split('\t')
        .map(str::to_string)
        .collect();
    assert_eq!(row[0], "PARAMETER");
    assert_eq!(
        &row[4..],
        ["/hse/traffic-split-percent", "String", "10", "1"]
    );
    // Unknown parameter: the service's error, exit 254.
    let o = sh(
        Tool::Aws,
        &env,
        &["ssm", "get-parameter", "--name", "/hse/nope"],
    )
    .await;
    assert_eq!(o.code, 254);
    assert_eq!(
        o.stderr_text(),
        "\nAn error occurred (ParameterNotFound) when calling the GetParameter operation: \n"
    );
    assert!(o.stdout.is_empty());
    // A bad command line: 252.
    for args in [
        vec!["ssm", "get-parameter"],
        vec!["ssm", "get-parameter", "--name", name, "--bogus"],
        vec!["ssm", "describe-parameters"],
        vec!["s3", "ls"],
        vec!["ssm", "get-parameter", "--name", name, "--output", "table"],
        vec![
            "ssm",
            "get-parameter",
            "--name",
            name,
            "--query",
            "Parameter[?",
        ],
    ] {
        let o = sh(Tool::Aws, &env, &args).await;
        assert_eq!(o.code, 252, "{args:?}: {}", o.stderr_text());
    }
    let o = sh(Tool::Aws, &env, &["ssm", "get-parameter"]).await;
    assert!(o
        .stderr_text()
        .ends_with("aws: error: the following arguments are required: --name\n"));
    // No region anywhere: 253.
    let mut no_region = env.clone();
    no_region.remove("AWS_REGION");
    no_region.insert("AWS_CONFIG_FILE".into(), "/nonexistent".into());
    let o = sh(
        Tool::Aws,
        &no_region,
        &["ssm", "get-parameter", "--name", name],
    )
    .await;
    assert_eq!(o.code, 253);
    assert!(o.stderr_text().contains("You must specify a region"));
    let o = sh(
        Tool::Aws,
        &no_region,
        &[
            "--region",
            "us-west-2",
            "ssm",
            "get-parameter",
            "--name",
            name,
        ],
    )
    .await;
    assert!(json_of(&o)["Parameter"]["ARN"]
        .as_str()
        .unwrap()
        .contains(":us-west-2:"));
    // A region from the config file's profile.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config");
    std::fs::write(
        &cfg,
        "[default]\nregion = ap-south-1\n[profile hse-prod]\nregion=eu-central-1\n",
    )
    .unwrap();
    let mut from_file = no_region.clone();
    from_file.insert("AWS_CONFIG_FILE".into(), cfg.display().to_string());
    from_file.insert("AWS_PROFILE".into(), "hse-prod".into());
    let o = sh(
        Tool::Aws,
        &from_file,
        &["ssm", "get-parameter", "--name", name],
    )
    .await;
    assert!(json_of(&o)["Parameter"]["ARN"]
        .as_str()
        .unwrap()
        .contains(":eu-central-1:"));
    // No simulator: the CLI's connection error, 255, and why.
    let mut unset = env.clone();
    unset.remove(CONTROL_ENV);
    let o = sh(Tool::Aws, &unset, &["ssm", "get-parameter", "--name", name]).await;
    assert_eq!(o.code, 255);
    assert!(o.stderr_text().contains(
        "Could not connect to the endpoint URL: \"https://ssm.eu-west-1.amazonaws.com/\""
    ));
    assert!(o.stderr_text().contains(CONTROL_ENV));
    h.shutdown().await;
    let o = sh(Tool::Aws, &env, &["ssm", "get-parameter", "--name", name]).await;
    assert_eq!(o.code, 255, "a stopped simulator: {}", o.stderr_text());
}

fn cw_queries(tg: &str, period: u32) -> String {
    let stat = |id: &str, metric: &str, s: &str, ret: bool| {
        json!({"Id": id, "MetricStat": {"Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": metric,
            "Dimensions": [{"Name": "LoadBalancer", "Value": hse::LB}, {"Name": "TargetGroup", "Value": tg}]},
            "Period": period, "Stat": s}, "ReturnData": ret})
    };
    json!([
        stat("r", "RequestCount", "Sum", false),
        stat("e", "HTTPCode_Target_5XX_Count", "Sum", false),
        {"Id": "err", "Expression": "100 * e / r", "Label": "5xx %"},
        stat("p99", "TargetResponseTime", "p99", true),
    ])
    .to_string()
}

async fn cw(env: &BTreeMap<String, String>, tg: &str, extra: &[&str]) -> Output {
    let q = cw_queries(tg, 1);
    let start = (chrono::Utc::now() - chrono::Duration::minutes(5)).to_rfc3339();
    let end = (chrono::Utc::now().timestamp() + 1).to_string();
    let mut args = vec![
        "cloudwatch",
        "get-metric-data",
        "--metric-data-queries",
        &q,
        "--start-time",
        &start,
        "--end-time",
        &end,
    ];
    args.extend_from_slice(extra);
    sh(Tool::Aws, env, &args).await
}

/// The latest error rate of the new system, as `--query … --output text` gives it.
async fn new_error_rate(env: &BTreeMap<String, String>) -> f64 {
    let o = cw(
        env,
        hse::TG_NEW,
        &[
            "--query",
            "MetricDataResults[?Id=='err'].Values[0] | [0]",
            "--output",
            "text",
        ],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr_text());
    o.stdout_text()
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("{:?}", o.stdout_text()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_put_parameter_moves_the_split_and_cloudwatch_follows() {
    let h = sim_of(Profile::Hse, Scenario::ErrorBurst).await;
    let env = env_for(&h, &[]);
    let name = hse::PARAMETER;
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    // get-metric-data's JSON: results with ISO timestamps, newest first.
    let o = cw(&env, hse::TG_NEW, &[]).await;
    assert_eq!(o.code, 0, "{}", o.stderr_text());
    let v = json_of(&o);
    let err = &v["MetricDataResults"][0];
    assert_eq!(
        (err["Id"].clone(), err["Label"].clone()),
        (json!("err"), json!("5xx %"))
    );
    assert!(err["Timestamps"][0].as_str().unwrap().ends_with("+00:00"));
    assert_eq!(v["MetricDataResults"][1]["Id"], "p99");
    // error-burst at the 10 % split: the new system fails 0.8-1.5 % (threshold 0.1 %).
    let before = new_error_rate(&env).await;
    assert!(before > 0.5, "{before}");
    let old = cw(
        &env,
        hse::TG_OLD,
        &[
            "--query",
            "MetricDataResults[0].Values[0]",
            "--output",
            "text",
        ],
    )
    .await;
    assert!(old.stdout_text().trim().parse::<f64>().unwrap() < 0.1);
    // The split steps and the rollback, as the runbook writes them.
    for pct in ["50", "100", "10"] {
        let o = sh(
            Tool::Aws,
            &env,
            &[
                "ssm",
                "put-parameter",
                "--name",
                name,
                "--value",
                pct,
                "--overwrite",
            ],
        )
        .await;
        assert_eq!(o.code, 0, "{}", o.stderr_text());
        assert_eq!(h.rollback_target(), pct.parse::<f64>().unwrap() / 100.0);
    }
    let o = sh(
        Tool::Aws,
        &env,
        &["ssm", "put-parameter", "--name", name, "--value", "0"],
    )
    .await;
    assert_eq!(o.code, 254, "no --overwrite");
    assert!(o
        .stderr_text()
        .contains("(ParameterAlreadyExists) when calling the PutParameter operation"));
    assert_eq!(h.rollback_target(), 0.1);
    let o = sh(
        Tool::Aws,
        &env,
        &[
            "ssm",
            "put-parameter",
            "--name",
            name,
            "--value",
            "0",
            "--overwrite",
        ],
    )
    .await;
    assert_eq!(o.code, 0);
    let v = json_of(&o);
    assert_eq!(v, json!({"Tier": "Standard", "Version": 5}));
    assert_eq!(h.rollback_target(), 0.0);
    assert_eq!(h.parameter(name).as_deref(), Some("0"));
    // The new system's error rate recovers within the ramp (1 s datapoints).
    let t = std::time::Instant::now();
    loop {
        let e = new_error_rate(&env).await;
        if e < 0.1 {
            break;
        }
        assert!(
            t.elapsed() < std::time::Duration::from_secs(15),
            "still {e} after rollback"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    // A bad query JSON or timestamp: 252.
    let o = sh(
        Tool::Aws,
        &env,
        &[
            "cloudwatch",
            "get-metric-data",
            "--metric-data-queries",
            "Id=a,Expression=x",
            "--start-time",
            "0",
            "--end-time",
            "1",
        ],
    )
    .await;
    assert_eq!(o.code, 252, "{}", o.stderr_text());
    let o = sh(
        Tool::Aws,
        &env,
        &[
            "cloudwatch",
            "get-metric-data",
            "--metric-data-queries",
            "[]",
            "--start-time",
            "yesterday",
            "--end-time",
            "1",
        ],
    )
    .await;
    assert_eq!(o.code, 252);
    // A CloudWatch validation error: 254 with its message.
    let o = sh(
        Tool::Aws,
        &env,
        &[
            "cloudwatch",
            "get-metric-data",
            "--metric-data-queries",
            "[]",
            "--start-time",
            "10",
            "--end-time",
            "20",
        ],
    )
    .await;
    assert_eq!(o.code, 254);
    assert!(o
        .stderr_text()
        .contains("(ValidationError) when calling the GetMetricData operation"));
    // --value file:// as the CLI reads it.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("v");
    std::fs::write(&f, "50\n").unwrap();
    let o = sh(
        Tool::Aws,
        &env,
        &[
            "ssm",
            "put-parameter",
            "--name",
            name,
            "--value",
            &format!("file://{}", f.display()),
            "--overwrite",
        ],
    )
    .await;
    assert_eq!(o.code, 0);
    assert_eq!(h.parameter(name).as_deref(), Some("50"));
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_logs_splits_stdout_and_stderr_and_counts_errors() {
    let h = sim_of(Profile::Cohortlens, Scenario::ErrorBurst).await;
    let env = env_for(&h, &[]);
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let o = sh(
        Tool::Docker,
        &env,
        &["logs", "--since", "5m", "cohortlens-api-ts"],
    )
    .await;
    assert_eq!(o.code, 0, "{}", o.stderr_text());
    let count = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .lines()
            .filter(|l| l.to_lowercase().contains("error"))
            .count()
    };
    // `docker logs … | grep -i error` reads stdout only: Nest's errors are on stderr.
    assert_eq!(count(&o.stdout), 0, "{}", o.stdout_text());
    assert!(count(&o.stderr) >= 1, "{}", o.stderr_text());
    assert!(o
        .stdout_text()
        .contains("LOG [NestApplication] Nest application successfully started"));
    for l in o.stderr_text().lines().filter(|l| l.contains("ERROR")) {
        assert!(
            l.starts_with("[Nest] 1  - ") && l.contains("   ERROR [ExceptionsHandler] "),
            "{l}"
        );
    }
    // --tail, -n, -t, a future --since.
    let o = sh(
        Tool::Docker,
        &env,
        &["logs", "--tail", "2", "cohortlens-api-ts"],
    )
    .await;
    let lines = o.stdout_text().lines().count() + o.stderr_text().lines().count();
    assert_eq!(lines, 2);
    let o = sh(
        Tool::Docker,
        &env,
        &["logs", "-n", "1", "-t", "cohortlens-api-ts"],
    )
    .await;
    let line = format!("{}{}", o.stdout_text(), o.stderr_text());
    let stamp = line.split(' ').next().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
        "{line}"
    );
    let o = sh(
        Tool::Docker,
        &env,
        &[
            "logs",
            "--since",
            "2099-01-01T00:00:00Z",
            "cohortlens-api-ts",
        ],
    )
    .await;
    assert!(o.stdout.is_empty() && o.stderr.is_empty() && o.code == 0);
    // The CLI's errors, exit 1.
    let o = sh(Tool::Docker, &env, &["logs", "cohortlens-api-tss"]).await;
    assert_eq!(
        (o.code, o.stderr_text()),
        (
            1,
            "Error response from daemon: No such container: cohortlens-api-tss\n".to_string()
        )
    );
    let o = sh(Tool::Docker, &env, &["logs"]).await;
    assert!(
        o.code == 1
            && o.stderr_text()
                .starts_with("\"docker logs\" requires exactly 1 argument.")
    );
    let o = sh(
        Tool::Docker,
        &env,
        &["logs", "--since", "soon", "cohortlens-api-ts"],
    )
    .await;
    assert!(o.code == 1 && o.stderr_text().contains("invalid value for \"since\""));
    let o = sh(Tool::Docker, &env, &["logs", "-f", "cohortlens-api-ts"]).await;
    assert_eq!(o.code, 1);
    let o = sh(Tool::Docker, &env, &["exec", "x", "sh"]).await;
    assert_eq!(o.code, 1);
    let o = sh(Tool::Docker, &env, &["ps"]).await;
    assert!(
        o.stdout_text().contains("cohortlens-api-ts")
            && o.stdout_text().starts_with("CONTAINER ID")
    );
    h.shutdown().await;
    let o = sh(Tool::Docker, &env, &["logs", "cohortlens-api-ts"]).await;
    assert_eq!(o.code, 1);
    assert!(o
        .stderr_text()
        .starts_with("Cannot connect to the Docker daemon at unix:///var/run/docker.sock."));
}

#[test]
fn docker_since_reads_durations_times_and_epochs() {
    use super::docker::parse_time;
    let now = 1_000_000.0;
    assert_eq!(parse_time("5m", now), Some(now - 300.0));
    assert_eq!(parse_time("1h30m", now), Some(now - 5400.0));
    assert_eq!(parse_time("1.5s", now), Some(now - 1.5));
    assert_eq!(parse_time("1700000000", now), Some(1_700_000_000.0));
    assert_eq!(
        parse_time("2026-03-06T10:15:00Z", now),
        Some(1_772_792_100.0)
    );
    assert_eq!(parse_time("5 minutes", now), None);
    assert_eq!(parse_time("", now), None);
}

/// The check a preset runs: duplicates and plans without `snapshot_id`, printed as JSON.
const MONGO_JS: &str = r#"const d = db.client_drawers.aggregate([
  {$unwind: "$services.shared.questionnaires.followups"},
  {$group: {_id: {d: "$_id", f: "$services.shared.questionnaires.followups.followup_id"}, n: {$sum: 1}}},
  {$match: {n: {$gt: 1}}},
  {$count: "duplicates"}
]).toArray();
print(JSON.stringify({
  duplicates: d.length ? d[0].duplicates : 0,
  plans_without_snapshot_id: db.training_plans.countDocuments({snapshot_id: {$exists: false}})
    + db.nutrition_plans.countDocuments({snapshot_id: {$exists: false}})
}))"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongosh_prints_the_json_the_script_prints() {
    let h = sim_of(Profile::Edn360, Scenario::Healthy).await;
    let env = env_for(&h, &[]);
    let uri = "mongodb://127.0.0.1:27017/edn360";
    let o = sh(Tool::Mongosh, &env, &[uri, "--quiet", "--eval", MONGO_JS]).await;
    assert_eq!(o.code, 0, "{}", o.stderr_text());
    assert_eq!(
        o.stdout_text(),
        "{\"duplicates\":0,\"plans_without_snapshot_id\":0}\n"
    );
    // error-burst: duplicates and plans without snapshot appear, as the HTTP checks say.
    h.set_scenario(Scenario::ErrorBurst);
    let o = sh(Tool::Mongosh, &env, &[uri, "--quiet", "--eval", MONGO_JS]).await;
    let v = json_of(&o);
    assert!(v["duplicates"].as_u64().unwrap() >= 3, "{v}");
    assert!(
        v["plans_without_snapshot_id"].as_u64().unwrap() >= 20,
        "{v}"
    );
    // The last value is printed: a number, mongosh's object format, --json.
    let o = sh(
        Tool::Mongosh,
        &env,
        &[
            uri,
            "--quiet",
            "--eval",
            "db.client_drawers.countDocuments({})",
        ],
    )
    .await;
    assert_eq!(o.stdout_text(), "320\n");
    let o = sh(
        Tool::Mongosh,
        &env,
        &[uri, "--quiet", "--eval", "({n: 1, s: 'x', a: [1, 2]})"],
    )
    .await;
    assert_eq!(o.stdout_text(), "{ n: 1, s: 'x', a: [ 1, 2 ] }\n");
    let o = sh(
        Tool::Mongosh,
        &env,
        &[uri, "--quiet", "--json=relaxed", "--eval", "({n: 1})"],
    )
    .await;
    assert_eq!(o.stdout_text(), "{\n  \"n\": 1\n}\n");
    let o = sh(
        Tool::Mongosh,
        &env,
        &[uri, "--quiet", "--json=canonical", "--eval", "({n: 1})"],
    )
    .await;
    assert_eq!(json_of(&o), json!({"n": {"$numberInt": "1"}}));
    // Another database is empty; getSiblingDB reaches ours.
    let o = sh(
        Tool::Mongosh,
        &env,
        &[
            "mongodb://localhost/test",
            "--quiet",
            "--eval",
            "db.client_drawers.countDocuments({})",
        ],
    )
    .await;
    assert_eq!(o.stdout_text(), "0\n");
    let o = sh(
        Tool::Mongosh,
        &env,
        &[
            "--quiet",
            "--eval",
            "db.getSiblingDB('edn360').training_plans.estimatedDocumentCount()",
        ],
    )
    .await;
    assert_eq!(o.stdout_text(), "400\n");
    // The banner without --quiet, credentials hidden.
    let o = sh(
        Tool::Mongosh,
        &env,
        &["mongodb://ops:s3cret@localhost:27017/edn360", "--eval", "1"],
    )
    .await;
    assert!(o
        .stdout_text()
        .contains("Connecting to:\t\tmongodb://<credentials>@localhost:27017/edn360"));
    assert!(!o.stdout_text().contains("s3cret"));
    assert!(o.stdout_text().ends_with("\n1\n"));
    // Errors as mongosh words them, exit 1.
    for (js, want) in [
        ("nope.x", "ReferenceError: nope is not defined"),
        ("db.client_drawers.deleteMany({})", "MongoServerError: not authorized on edn360 to execute command { delete: \"client_drawers\" }"),
        ("const x = ;", "SyntaxError: Unexpected token ;"),
        ("db.x.findOne({}).a", "TypeError: Cannot read properties of null (reading 'a')"),
        ("db.x.aggregate([{$bogus: 1}]).toArray()", "MongoServerError: Unrecognized pipeline stage name: '$bogus'"),
    ] {
        let o = sh(Tool::Mongosh, &env, &[uri, "--quiet", "--eval", js]).await;
        assert_eq!(o.code, 1, "{js}");
        assert!(o.stderr_text().starts_with(want), "{js}: {}", o.stderr_text());
    }
    let o = sh(Tool::Mongosh, &env, &[uri, "--quiet"]).await;
    assert_eq!(o.code, 1, "no --eval");
    let o = sh(
        Tool::Mongosh,
        &env,
        &[uri, "--quiet", "--eval", "db.x.count()"],
    )
    .await;
    assert!(o
        .stderr_text()
        .contains("DeprecationWarning: Collection.count() is deprecated"));
    assert_eq!(o.stdout_text(), "0\n");
    h.shutdown().await;
    let o = sh(Tool::Mongosh, &env, &[uri, "--quiet", "--eval", "1"]).await;
    assert_eq!(o.code, 1);
    assert!(o
        .stderr_text()
        .starts_with("MongoNetworkError: connect ECONNREFUSED 127.0.0.1:27017"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn env_rollback_and_restart_change_the_simulated_backend() {
    let dir = tempfile::tempdir().unwrap();
    let mut o = SimOptions::new(Profile::Edn360);
    o.scenario = Scenario::ErrorBurst;
    o.state_dir = Some(dir.path().to_path_buf());
    let h = sim::start(o).await.unwrap();
    let env = env_for(&h, &[]);
    let file = h.env_file().unwrap();
    // The runbook's Fase 3 rollback: append the line, then restart through sudo.
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("USE_CLIENT_DRAWER_READ=false\n");
    std::fs::write(&file, text).unwrap();
    assert_eq!(
        h.flag(edn360::FLAG_READ),
        Some(true),
        "not before the restart"
    );
    let o = sh(
        Tool::Sudo,
        &env,
        &["-n", "supervisorctl", "restart", "backend"],
    )
    .await;
    assert_eq!(
        (o.code, o.stdout_text()),
        (0, "backend: stopped\nbackend: started\n".to_string())
    );
    assert_eq!(h.flag(edn360::FLAG_READ), Some(false));
    let o = sh(Tool::Supervisorctl, &env, &["status", "backend"]).await;
    assert!(
        o.stdout_text()
            .starts_with("backend                          RUNNING   pid 4243, uptime 0:00:0"),
        "{}",
        o.stdout_text()
    );
    // The numbers recover: the duplicates check reads 0 again.
    let t = std::time::Instant::now();
    loop {
        let o = sh(
            Tool::Mongosh,
            &env,
            &["mongodb://localhost/edn360", "--quiet", "--eval", MONGO_JS],
        )
        .await;
        if json_of(&o) == json!({"duplicates": 0, "plans_without_snapshot_id": 0}) {
            break;
        }
        assert!(
            t.elapsed() < std::time::Duration::from_secs(15),
            "{}",
            o.stdout_text()
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    // Refusals.
    let o = sh(Tool::Supervisorctl, &env, &["restart", "frontend"]).await;
    assert_eq!(
        (o.code, o.stdout_text()),
        (1, "frontend: ERROR (no such process)\n".to_string())
    );
    let o = sh(Tool::Sudo, &env, &["-n", "rm", "-rf", "/tmp/x"]).await;
    assert_eq!(
        (o.code, o.stderr_text()),
        (1, "sudo: a password is required\n".to_string())
    );
    let o = sh(Tool::Sudo, &env, &["sudo", "supervisorctl", "status"]).await;
    assert_eq!(o.code, 1, "no sudo in sudo");
    let o = sh(Tool::Supervisorctl, &env, &["stop", "backend"]).await;
    assert_eq!(o.code, 2);
    h.shutdown().await;
    let o = sh(Tool::Supervisorctl, &env, &["restart", "backend"]).await;
    assert_eq!(o.code, 2);
    assert!(o
        .stderr_text()
        .starts_with("unix:///var/run/supervisor.sock no such file"));
}

#[test]
fn tools_are_known_by_their_program_name_only() {
    use std::ffi::OsStr;
    assert_eq!(
        Tool::from_program(OsStr::new("/tmp/x/aws")),
        Some(Tool::Aws)
    );
    assert_eq!(
        Tool::from_program(OsStr::new("mongosh")),
        Some(Tool::Mongosh)
    );
    assert_eq!(Tool::from_program(OsStr::new("/usr/bin/warroom")), None);
    assert_eq!(Tool::from_program(OsStr::new("aws2")), None);
    assert_eq!(Tool::from_program(OsStr::new("/bin/aws/warroom")), None);
}

#[test]
fn standins_dir_links_every_tool_refuses_real_programs_and_goes_away() {
    let exe = std::env::current_exe().unwrap();
    let s = Standins::create(&exe, "http://127.0.0.1:1").unwrap();
    let dir = s.dir().to_path_buf();
    for t in Tool::ALL {
        assert_eq!(std::fs::read_link(dir.join(t.name())).unwrap(), exe);
    }
    let env: BTreeMap<String, String> = s.env().into_iter().collect();
    assert!(env["PATH"].starts_with(&format!("{}:", dir.display())));
    assert_eq!(env[CONTROL_ENV], "http://127.0.0.1:1");
    let no_region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .all(|k| std::env::var_os(k).is_none_or(|v| v.is_empty()));
    assert_eq!(
        env.get("AWS_DEFAULT_REGION").map(String::as_str),
        no_region.then_some("us-east-1")
    );
    // Installing again over our own links is fine; over a real program it is refused.
    install(&dir, &exe).unwrap();
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("docker"), "#!/bin/sh\n").unwrap();
    let e = install(other.path(), &exe).unwrap_err();
    assert!(e.to_string().contains("is not a warroom stand-in"), "{e}");
    assert_eq!(
        std::fs::read_to_string(other.path().join("docker")).unwrap(),
        "#!/bin/sh\n"
    );
    drop(s);
    assert!(!dir.exists(), "the stand-ins leave PATH with the drill");
}

#[test]
fn jmespath_subset() {
    let v = json!({"MetricDataResults": [
        {"Id": "a", "Values": [1.5, 2.0]},
        {"Id": "b", "Values": [3.0]},
        {"Id": "c", "Values": []}
    ], "Parameter": {"Value": "10"}});
    let q = |s: &str| super::jmespath::compile(s).unwrap().search(&v);
    assert_eq!(q("Parameter.Value"), json!("10"));
    assert_eq!(q("MetricDataResults[0].Values[0]"), json!(1.5));
    assert_eq!(q("MetricDataResults[-1].Id"), json!("c"));
    assert_eq!(q("MetricDataResults[?Id=='b'].Values[0]"), json!([3.0]));
    assert_eq!(q("MetricDataResults[?Id=='b'].Values[0] | [0]"), json!(3.0));
    assert_eq!(q("MetricDataResults[*].Values[0]"), json!([1.5, 3.0]));
    assert_eq!(q("MetricDataResults[].Values[]"), json!([1.5, 2.0, 3.0]));
    assert_eq!(
        q("MetricDataResults[?Id!='a' && Id!=`\"c\"`].Id"),
        json!(["b"])
    );
    assert_eq!(q("Nope.Value"), Value::Null);
    assert_eq!(
        q("[Parameter.Value, MetricDataResults[0].Id]"),
        json!(["10", "a"])
    );
    assert!(super::jmespath::compile("a[").is_err());
}

#[test]
fn aws_text_output_follows_the_cli() {
    use super::aws::text;
    assert_eq!(text(&json!("10")), "10\n");
    assert_eq!(text(&json!([0.5, 1])), "0.5\t1\n");
    assert_eq!(text(&Value::Null), "None\n");
    assert_eq!(
        text(&json!({"MetricDataResults": [{"Id": "a", "Label": "x", "Values": [1.0, 2.0]}]})),
        "METRICDATARESULTS\ta\tx\nVALUES\t1.0\nVALUES\t2.0\n"
    );
    assert_eq!(
        text(&json!({"Version": 2, "Tier": "Standard"})),
        "Standard\t2\n"
    );
}

#[test]
fn mongo_uri_target() {
    use super::mongosh::target;
    let t = target(
        Some("mongodb://u:p@db1:27018,db2/edn360?replicaSet=rs"),
        None,
        None,
    );
    assert_eq!((t.host.as_str(), t.db.as_str()), ("db1:27018", "edn360"));
    assert!(!t.shown.contains("u:p"));
    assert_eq!(target(Some("edn360"), None, None).db, "edn360");
    assert_eq!(target(None, Some("h"), Some("1")).host, "h:1");
    assert_eq!(target(Some("mongodb://localhost"), None, None).db, "test");
}

#[test]
fn mongo_query_language() {
    use super::mquery::{aggregate, matches};
    let d = json!({"a": 1, "s": "x", "arr": [{"k": 1}, {"k": 2}], "n": null});
    for (f, want) in [
        (json!({"a": 1}), true),
        (json!({"a": {"$gt": 0, "$lt": 2}}), true),
        (json!({"a": {"$in": [3, 4]}}), false),
        (json!({"arr.k": 2}), true),
        (json!({"arr.k": {"$gte": 3}}), false),
        (json!({"missing": {"$exists": false}}), true),
        (json!({"n": null, "missing": null}), true),
        (
            json!({"s": {"$exists": true}, "$or": [{"a": 2}, {"s": "x"}]}),
            true,
        ),
        (json!({"arr": {"$size": 2}}), true),
        (json!({"a": {"$not": {"$eq": 1}}}), false),
    ] {
        assert_eq!(matches(&d, &f).unwrap(), want, "{f}");
    }
    assert!(matches(&d, &json!({"a": {"$regexx": 1}})).is_err());
    let docs = vec![
        json!({"g": "x", "v": 1}),
        json!({"g": "y", "v": 2}),
        json!({"g": "x", "v": 3}),
    ];
    let out = aggregate(
        docs.clone(),
        &json!([{"$group": {"_id": "$g", "total": {"$sum": "$v"}, "n": {"$sum": 1}}}, {"$sort": {"total": -1}}]),
    )
    .unwrap();
    assert_eq!(
        out,
        vec![
            json!({"_id": "x", "total": 4, "n": 2}),
            json!({"_id": "y", "total": 2, "n": 1})
        ]
    );
    assert_eq!(
        aggregate(
            docs.clone(),
            &json!([{"$match": {"v": 9}}, {"$count": "c"}])
        )
        .unwrap(),
        Vec::<Value>::new()
    );
    assert_eq!(
        aggregate(docs, &json!([{"$count": "c"}])).unwrap(),
        vec![json!({"c": 3})]
    );
}
