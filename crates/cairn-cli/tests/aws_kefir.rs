//! Acceptance: examples/kefir deployed through the CLI on the emulator, one test per stack
//! (`dev`, `prod`). Each runs in a temp copy renamed to a project of its own, with an `App`
//! of its own (`cairn config set App`: every resource name starts with it, and the stage
//! comes from the stack): `up`, read every resource back through the SDK with what differs
//! by stage, `preview --expect-no-changes`, `destroy`, and nothing of the stack is left in
//! the emulator. In prod the first `destroy` is refused for the protected table and
//! deletes nothing; `cairn config set DeletionProtection false`, `up`, and `destroy`
//! removes everything.

#[path = "common/aws.rs"]
mod aws;
mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws::{arn_name, emulator, strings, unique, Emu};
use aws_sdk_s3::error::ProvideErrorMetadata;
use common::Proj;
use serde_json::{json, Value};

/// What differs between the stages (the reference's `$app.stage === "prod"`).
struct Stage {
    stack: &'static str,
    prod: bool,
}

const OUTPUTS: [&str; 6] = ["apiId", "apiUrl", "photoBucketName", "tableName", "userPoolClientId", "userPoolId"];
const FUNCTIONS: [&str; 3] = ["handleBatches", "handlePublic", "sendReminder"];
const PROD_ORIGINS: [&str; 2] = ["https://kefirproducer.com", "https://*.kefirproducer.com"];

#[test]
fn dev() {
    deploy_check_destroy(Stage { stack: "dev", prod: false });
}

#[test]
fn prod() {
    deploy_check_destroy(Stage { stack: "prod", prod: true });
}

/// SDK clients for the services kefir uses beyond S3 and IAM.
struct Clients {
    ddb: aws_sdk_dynamodb::Client,
    lambda: aws_sdk_lambda::Client,
    apigw: aws_sdk_apigatewayv2::Client,
    cognito: aws_sdk_cognitoidentityprovider::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    cw: aws_sdk_cloudwatch::Client,
}

impl Clients {
    fn new(emu: &Emu) -> Clients {
        let config = emu.block(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new("us-east-1"))
                .load(),
        );
        Clients {
            ddb: aws_sdk_dynamodb::Client::new(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
            apigw: aws_sdk_apigatewayv2::Client::new(&config),
            cognito: aws_sdk_cognitoidentityprovider::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            cw: aws_sdk_cloudwatch::Client::new(&config),
        }
    }
}

/// What one deployed stack is called.
struct Names {
    project: String,
    app: String,
    stack: &'static str,
    /// `{app}-{stack}`: the table, the user pool and the API.
    base: String,
    account: String,
    table: String,
    table_arn: String,
    bucket: String,
    pool: String,
    client: String,
    api: String,
}

impl Names {
    fn function(&self, f: &str) -> String {
        format!("{}-{f}", self.base)
    }
    fn function_arn(&self, f: &str) -> String {
        format!("arn:aws:lambda:us-east-1:{}:function:{}", self.account, self.function(f))
    }
}

fn deploy_check_destroy(stage: Stage) {
    let Some(emu) = emulator() else { return };
    let c = Clients::new(&emu);
    let project = unique("kefir");
    let stack = stage.stack;
    let p = Proj::example("kefir", &project);
    // The stage names every resource; a name of the test's own keeps them apart from
    // other runs on the same emulator.
    let app = project.clone();
    p.run(&["-s", stack, "config", "set", "App", &app]).ok();
    p.run(&["-s", stack, "up", "--yes"]).ok();

    let out = p.run(&["-s", stack, "stack", "output", "--json"]).ok().json();
    let keys: Vec<&str> = out.as_object().expect("outputs").keys().map(String::as_str).collect();
    assert_eq!(keys, OUTPUTS);
    let s = |k: &str| out[k].as_str().unwrap_or_else(|| panic!("output {k}: {out}")).to_string();
    let base = format!("{app}-{stack}");
    let table = s("tableName");
    assert_eq!(table, base);
    let t = emu.block(c.ddb.describe_table().table_name(&table).send()).expect("DescribeTable");
    let table_arn = t.table().and_then(|t| t.table_arn()).expect("the table's ARN").to_string();
    let account = table_arn.split(':').nth(4).expect("an account in the table's ARN").to_string();
    let n = Names {
        project: project.clone(),
        app: app.clone(),
        stack,
        base: base.clone(),
        account: account.clone(),
        table,
        table_arn,
        bucket: s("photoBucketName"),
        pool: s("userPoolId"),
        client: s("userPoolClientId"),
        api: s("apiId"),
    };
    assert_eq!(n.bucket, format!("{app}-photos-{stack}-{account}"));
    assert_eq!(s("apiUrl"), format!("https://{}.execute-api.us-east-1.amazonaws.com", n.api));

    check_table(&emu, &c, &n, &stage, stage.prod);
    check_bucket(&emu, &n, &stage);
    check_auth(&emu, &c, &n);
    let lambda_role = check_functions(&emu, &c, &n, &stage);
    check_lambda_role(&emu, &n, &lambda_role);
    let scheduler_role =
        p.state(stack)["resources"]["Scheduler.Role"]["physical_id"].as_str().expect("the scheduler role").to_string();
    check_scheduler_role(&emu, &n, &scheduler_role);
    check_api(&emu, &c, &n, &stage);

    p.run(&["-s", stack, "preview", "--expect-no-changes"]).ok();

    if stage.prod {
        // The table is protected: destroy is refused as a whole and deletes nothing.
        let before = p.state(stack)["resources"].clone();
        let failed = p.run(&["-s", stack, "destroy", "--yes"]).code(1);
        assert!(failed.stderr.contains("nothing was changed"), "{failed}");
        assert_eq!(p.state(stack)["resources"], before, "the state is unchanged");
        check_bucket(&emu, &n, &stage);
        assert!(
            failed.stderr.contains("Data.Table (AWS::DynamoDB::Table)") && failed.stderr.contains("DeletionProtected"),
            "{failed}"
        );
        let t = emu.block(c.ddb.describe_table().table_name(&n.table).send()).expect("the protected table remains");
        assert_eq!(t.table().and_then(|t| t.deletion_protection_enabled()), Some(true));
        let left = p.state(stack)["resources"].clone();
        for id in ["Data.Table", "Api.HandleBatches.Function", "Api.LambdaRole"] {
            assert!(left.get(id).is_some(), "{id} should survive the refused destroy: {left:#}");
        }
        // Lift the protection through the parameter, apply, and the stack can go.
        p.run(&["-s", stack, "config", "set", "DeletionProtection", "false"]).ok();
        p.run(&["-s", stack, "up", "--yes"]).ok();
        check_table(&emu, &c, &n, &stage, false);
        p.run(&["-s", stack, "preview", "--expect-no-changes"]).ok();
    }
    p.run(&["-s", stack, "destroy", "--yes"]).ok();
    assert_eq!(p.state(stack)["resources"], json!({}));
    assert_gone(&emu, &c, &n, &[lambda_role, scheduler_role]);
}

/// The `Application`, `Environment` and ownership tags are among `tags`.
fn assert_tagged<K: AsRef<str>, V: AsRef<str>>(what: &str, tags: impl IntoIterator<Item = (K, V)>, n: &Names) {
    let tags: BTreeMap<String, String> =
        tags.into_iter().map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string())).collect();
    for (k, v) in [("Application", "kefir-app"), ("Environment", n.stack), ("cairn:project", n.project.as_str())] {
        assert_eq!(tags.get(k).map(String::as_str), Some(v), "{what}: tag {k} in {tags:?}");
    }
}

fn map_tags(tags: Option<&HashMap<String, String>>) -> Vec<(String, String)> {
    tags.map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default()
}

fn check_table(emu: &Emu, c: &Clients, n: &Names, stage: &Stage, protected: bool) {
    use aws_sdk_dynamodb::types::{BillingMode, KeyType, ProjectionType, SseStatus, SseType};
    let ddb = &c.ddb;
    let t = emu.block(ddb.describe_table().table_name(&n.table).send()).expect("DescribeTable");
    let t = t.table().expect("a table");
    let keys = |k: &[aws_sdk_dynamodb::types::KeySchemaElement]| -> Vec<(String, KeyType)> {
        k.iter().map(|k| (k.attribute_name().to_string(), k.key_type().clone())).collect()
    };
    assert_eq!(keys(t.key_schema()), [("PK".to_string(), KeyType::Hash), ("SK".to_string(), KeyType::Range)]);
    assert_eq!(t.billing_mode_summary().and_then(|b| b.billing_mode()), Some(&BillingMode::PayPerRequest));
    let gsis = t.global_secondary_indexes();
    assert_eq!(gsis.len(), 1, "{gsis:?}");
    assert_eq!(gsis[0].index_name(), Some("GSI1"));
    assert_eq!(
        keys(gsis[0].key_schema()),
        [("GSI1PK".to_string(), KeyType::Hash), ("GSI1SK".to_string(), KeyType::Range)]
    );
    assert_eq!(gsis[0].projection().and_then(|p| p.projection_type()), Some(&ProjectionType::All));
    let sse = t.sse_description().expect("server-side encryption");
    assert_eq!((sse.status(), sse.sse_type()), (Some(&SseStatus::Enabled), Some(&SseType::Kms)));
    assert_eq!(t.deletion_protection_enabled(), Some(protected), "deletion protection of {}", n.table);

    let backups =
        emu.block(ddb.describe_continuous_backups().table_name(&n.table).send()).expect("DescribeContinuousBackups");
    let pitr = backups
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status())
        .map(|s| s.as_str().to_string());
    assert_eq!(pitr.as_deref(), Some(if stage.prod { "ENABLED" } else { "DISABLED" }), "point-in-time recovery");

    let ttl = emu.block(ddb.describe_time_to_live().table_name(&n.table).send()).expect("DescribeTimeToLive");
    let ttl = ttl.time_to_live_description().expect("time to live");
    assert_eq!(ttl.attribute_name(), Some("TTL"));
    assert_eq!(ttl.time_to_live_status().map(|s| s.as_str()), Some("ENABLED"));

    let tags = emu.block(ddb.list_tags_of_resource().resource_arn(&n.table_arn).send()).expect("ListTagsOfResource");
    assert_tagged("table", tags.tags().iter().map(|t| (t.key(), t.value())), n);
}

fn check_bucket(emu: &Emu, n: &Names, stage: &Stage) {
    let s3 = &emu.s3;
    let b = n.bucket.as_str();
    let v = emu.block(s3.get_bucket_versioning().bucket(b).send()).expect("GetBucketVersioning");
    assert_eq!(v.status().map(|s| s.as_str()), Some(if stage.prod { "Enabled" } else { "Suspended" }));

    let enc = emu.block(s3.get_bucket_encryption().bucket(b).send()).expect("GetBucketEncryption");
    let rules = enc.server_side_encryption_configuration().expect("encryption").rules();
    let got: Vec<(Option<&str>, Option<bool>)> = rules
        .iter()
        .map(|r| {
            (r.apply_server_side_encryption_by_default().map(|d| d.sse_algorithm().as_str()), r.bucket_key_enabled())
        })
        .collect();
    assert_eq!(got, [(Some("AES256"), Some(true))]);

    let pab = emu.block(s3.get_public_access_block().bucket(b).send()).expect("GetPublicAccessBlock");
    let pab = pab.public_access_block_configuration().expect("public access block");
    assert_eq!(
        (pab.block_public_acls(), pab.block_public_policy(), pab.ignore_public_acls(), pab.restrict_public_buckets()),
        (Some(true), Some(true), Some(true), Some(true))
    );

    let cors = emu.block(s3.get_bucket_cors().bucket(b).send()).expect("GetBucketCors");
    let rules = cors.cors_rules();
    assert_eq!(rules.len(), 1, "{rules:?}");
    let r = &rules[0];
    assert_eq!(r.allowed_headers(), ["*"]);
    assert_eq!(r.allowed_methods(), ["GET", "PUT", "POST"]);
    let origins: Vec<&str> = if stage.prod { PROD_ORIGINS.to_vec() } else { vec!["*"] };
    assert_eq!(r.allowed_origins(), origins);
    assert_eq!(r.expose_headers(), ["ETag"]);
    assert_eq!(r.max_age_seconds(), Some(3000));

    let l =
        emu.block(s3.get_bucket_lifecycle_configuration().bucket(b).send()).expect("GetBucketLifecycleConfiguration");
    let rules: BTreeMap<&str, &aws_sdk_s3::types::LifecycleRule> =
        l.rules().iter().map(|r| (r.id().expect("a rule id"), r)).collect();
    assert_eq!(rules.keys().copied().collect::<Vec<_>>(), ["abort-incomplete-uploads", "delete-old-photos"]);
    for r in rules.values() {
        assert_eq!(r.status().as_str(), "Enabled");
    }
    assert_eq!(rules["delete-old-photos"].expiration().and_then(|e| e.days()), Some(365));
    assert_eq!(
        rules["abort-incomplete-uploads"].abort_incomplete_multipart_upload().and_then(|a| a.days_after_initiation()),
        Some(7)
    );

    assert_tagged("photo bucket", emu.bucket_tags(b), n);
}

fn check_auth(emu: &Emu, c: &Clients, n: &Names) {
    let cognito = &c.cognito;
    let pool = emu.block(cognito.describe_user_pool().user_pool_id(&n.pool).send()).expect("DescribeUserPool");
    let pool = pool.user_pool().expect("a user pool");
    assert_eq!(pool.name(), Some(n.base.as_str()));
    let attrs = |a: &[aws_sdk_cognitoidentityprovider::types::UsernameAttributeType]| -> Vec<String> {
        a.iter().map(|a| a.as_str().to_string()).collect()
    };
    assert_eq!(attrs(pool.username_attributes()), ["email"]);
    let verified: Vec<&str> = pool.auto_verified_attributes().iter().map(|a| a.as_str()).collect();
    assert_eq!(verified, ["email"]);
    let recovery: Vec<(&str, i32)> = pool
        .account_recovery_setting()
        .map(|r| r.recovery_mechanisms().iter().map(|m| (m.name().as_str(), m.priority())).collect())
        .unwrap_or_default();
    assert_eq!(recovery, [("verified_email", 1)]);
    let email = pool.schema_attributes().iter().find(|a| a.name() == Some("email")).expect("the email attribute");
    assert_eq!((email.required(), email.mutable()), (Some(true), Some(false)));
    assert_eq!(
        pool.email_configuration().and_then(|e| e.email_sending_account()).map(|a| a.as_str()),
        Some("COGNITO_DEFAULT")
    );
    assert_tagged("user pool", map_tags(pool.user_pool_tags()), n);
    // Optional MFA, by authenticator app. GetUserPoolMfaConfig is where AWS documents the
    // pool's MFA setting. moto deviation: moto 5.2.5's DescribeUserPool reports the
    // `MfaConfiguration` given to CreateUserPool (OFF: Cognito refuses OPTIONAL before an
    // MFA method is set, so cairn sets it with SetUserPoolMfaConfig), not the one
    // SetUserPoolMfaConfig set (`moto/cognitoidp/models.py`), so the pool's
    // `MfaConfiguration` is not checked here.
    let mfa = emu.block(cognito.get_user_pool_mfa_config().user_pool_id(&n.pool).send()).expect("GetUserPoolMfaConfig");
    assert_eq!(mfa.mfa_configuration().map(|m| m.as_str()), Some("OPTIONAL"));
    assert_eq!(mfa.software_token_mfa_configuration().map(|t| t.enabled()), Some(true));

    let client = emu
        .block(cognito.describe_user_pool_client().user_pool_id(&n.pool).client_id(&n.client).send())
        .expect("DescribeUserPoolClient");
    let client = client.user_pool_client().expect("a client");
    assert_eq!(client.client_name(), Some(format!("{}-client", n.base).as_str()));
    assert_eq!(client.client_secret(), None, "a public client has no secret");
    let flows: BTreeSet<&str> = client.explicit_auth_flows().iter().map(|f| f.as_str()).collect();
    assert_eq!(flows, ["ALLOW_CUSTOM_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"].into());
    assert_eq!(
        (client.access_token_validity(), client.id_token_validity(), client.refresh_token_validity()),
        (Some(1), Some(1), 30)
    );
    let units = client.token_validity_units().expect("token validity units");
    let unit = |u: Option<&aws_sdk_cognitoidentityprovider::types::TimeUnitsType>| u.map(|u| u.as_str().to_string());
    assert_eq!(
        (unit(units.access_token()), unit(units.id_token()), unit(units.refresh_token())),
        (Some("hours".into()), Some("hours".into()), Some("days".into()))
    );
    assert_eq!(client.prevent_user_existence_errors().map(|p| p.as_str()), Some("ENABLED"));
}

/// The three functions, their log groups and alarms; returns the functions' role.
fn check_functions(emu: &Emu, c: &Clients, n: &Names, stage: &Stage) -> String {
    let mut roles = BTreeSet::new();
    for f in FUNCTIONS {
        let name = n.function(f);
        let got = emu.block(c.lambda.get_function().function_name(&name).send()).expect("GetFunction");
        let cfg = got.configuration().expect("a configuration");
        assert_eq!(cfg.function_arn(), Some(n.function_arn(f).as_str()));
        assert_eq!(cfg.runtime().map(|r| r.as_str()), Some("nodejs20.x"));
        let arch: Vec<&str> = cfg.architectures().iter().map(|a| a.as_str()).collect();
        assert_eq!(arch, ["arm64"], "{name}");
        assert_eq!(cfg.handler(), Some("index.main"));
        assert_eq!((cfg.timeout(), cfg.memory_size()), (Some(30), Some(512)));
        let vars: BTreeMap<String, String> = cfg
            .environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        let want: BTreeMap<String, String> = [
            ("BUCKET_NAME", n.bucket.as_str()),
            ("STAGE", n.stack),
            ("TABLE_NAME", n.table.as_str()),
            ("USER_POOL_CLIENT_ID", n.client.as_str()),
            ("USER_POOL_ID", n.pool.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(vars, want, "{name}'s environment");
        roles.insert(arn_name(cfg.role().expect("a role")));
        assert_tagged(&name, map_tags(got.tags()), n);
    }
    assert_eq!(roles.len(), 1, "one role for every function: {roles:?}");

    let groups = emu
        .block(c.logs.describe_log_groups().log_group_name_prefix(format!("/aws/lambda/{}-", n.base)).send())
        .expect("DescribeLogGroups");
    let retention: BTreeMap<&str, Option<i32>> =
        groups.log_groups().iter().map(|g| (g.log_group_name().unwrap_or_default(), g.retention_in_days())).collect();
    let days = Some(if stage.prod { 30 } else { 14 });
    let names: Vec<String> = FUNCTIONS.iter().map(|f| format!("/aws/lambda/{}", n.function(f))).collect();
    let want: BTreeMap<&str, Option<i32>> = names.iter().map(|g| (g.as_str(), days)).collect();
    assert_eq!(retention, want);
    for g in groups.log_groups() {
        let arn = g.arn().expect("a log group ARN");
        let arn = arn.strip_suffix(":*").unwrap_or(arn);
        let tags = emu.block(c.logs.list_tags_for_resource().resource_arn(arn).send()).expect("ListTagsForResource");
        assert_tagged(arn, map_tags(tags.tags()), n);
    }

    let alarms =
        emu.block(c.cw.describe_alarms().alarm_name_prefix(format!("{}-", n.base)).send()).expect("DescribeAlarms");
    let mut got: Vec<&str> = alarms.metric_alarms().iter().filter_map(|a| a.alarm_name()).collect();
    got.sort_unstable();
    let want: Vec<String> = FUNCTIONS.iter().map(|f| format!("{}-errors", n.function(f))).collect();
    assert_eq!(got, want);
    for a in alarms.metric_alarms() {
        let function = a.alarm_name().unwrap().strip_suffix("-errors").unwrap();
        assert_eq!((a.namespace(), a.metric_name()), (Some("AWS/Lambda"), Some("Errors")));
        let dims: Vec<(&str, &str)> =
            a.dimensions().iter().map(|d| (d.name().unwrap_or_default(), d.value().unwrap_or_default())).collect();
        assert_eq!(dims, [("FunctionName", function)]);
        assert_eq!(a.statistic().map(|s| s.as_str()), Some("Sum"));
        assert_eq!((a.period(), a.evaluation_periods(), a.threshold()), (Some(300), Some(2), Some(10.0)));
        assert_eq!(a.comparison_operator().map(|o| o.as_str()), Some("GreaterThanThreshold"));
        let arn = a.alarm_arn().expect("an alarm ARN");
        let tags = emu.block(c.cw.list_tags_for_resource().resource_arn(arn).send()).expect("ListTagsForResource");
        assert_tagged(arn, tags.tags().iter().map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())), n);
    }
    roles.into_iter().next().unwrap()
}

/// A role's trust policy names `service`, and the role carries the stack's tags.
fn check_role_trust(emu: &Emu, n: &Names, role: &str, service: &str) {
    let r = emu.block(emu.iam.get_role().role_name(role).send()).expect("GetRole");
    let r = r.role().expect("a role");
    let trust = aws::doc(r.assume_role_policy_document().expect("a trust policy"));
    let statements = trust["Statement"].as_array().cloned().unwrap_or_else(|| vec![trust["Statement"].clone()]);
    assert_eq!(statements.len(), 1, "{trust}");
    assert_eq!(statements[0]["Effect"], "Allow");
    assert_eq!(strings(&statements[0]["Action"]), ["sts:AssumeRole".to_string()].into());
    assert_eq!(strings(&statements[0]["Principal"]["Service"]), [service.to_string()].into());
    assert_tagged(role, r.tags().iter().map(|t| (t.key(), t.value())), n);
}

/// A role's only inline policy, by name.
fn inline_policy(emu: &Emu, role: &str) -> (String, Value) {
    let names = emu.block(emu.iam.list_role_policies().role_name(role).send()).expect("ListRolePolicies");
    assert_eq!(names.policy_names().len(), 1, "{role}: {:?}", names.policy_names());
    let name = names.policy_names()[0].clone();
    let p = emu.block(emu.iam.get_role_policy().role_name(role).policy_name(&name).send()).expect("GetRolePolicy");
    (name, aws::doc(p.policy_document()))
}

fn check_lambda_role(emu: &Emu, n: &Names, role: &str) {
    check_role_trust(emu, n, role, "lambda.amazonaws.com");
    let attached = emu.block(emu.iam.list_attached_role_policies().role_name(role).send()).expect("attached");
    let arns: Vec<&str> = attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect();
    assert_eq!(arns, ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]);
    let (name, doc) = inline_policy(emu, role);
    assert_eq!(name, "dynamodb");
    let statements = doc["Statement"].as_array().expect("statements");
    assert_eq!(statements.len(), 1, "{doc}");
    assert_eq!(statements[0]["Effect"], "Allow");
    let actions: BTreeSet<String> =
        ["GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem"]
            .iter()
            .map(|a| format!("dynamodb:{a}"))
            .collect();
    assert_eq!(strings(&statements[0]["Action"]), actions);
    // The table and its indexes, nothing else (no `Resource: "*"`).
    assert_eq!(strings(&statements[0]["Resource"]), [n.table_arn.clone(), format!("{}/index/*", n.table_arn)].into());
}

fn check_scheduler_role(emu: &Emu, n: &Names, role: &str) {
    check_role_trust(emu, n, role, "scheduler.amazonaws.com");
    let attached = emu.block(emu.iam.list_attached_role_policies().role_name(role).send()).expect("attached");
    assert!(attached.attached_policies().is_empty(), "{:?}", attached.attached_policies());
    let (name, doc) = inline_policy(emu, role);
    assert_eq!(name, "invoke-reminder");
    let statements = doc["Statement"].as_array().expect("statements");
    assert_eq!(statements.len(), 1, "{doc}");
    assert_eq!(statements[0]["Effect"], "Allow");
    assert_eq!(strings(&statements[0]["Action"]), ["lambda:InvokeFunction".to_string()].into());
    assert_eq!(strings(&statements[0]["Resource"]), [n.function_arn("sendReminder")].into());
}

fn check_api(emu: &Emu, c: &Clients, n: &Names, stage: &Stage) {
    let apigw = &c.apigw;
    let api = emu.block(apigw.get_api().api_id(&n.api).send()).expect("GetApi");
    assert_eq!(api.name(), Some(n.base.as_str()));
    assert_eq!(api.protocol_type().map(|p| p.as_str()), Some("HTTP"));
    let cors = api.cors_configuration().expect("CORS");
    let origins: Vec<&str> = if stage.prod { PROD_ORIGINS.to_vec() } else { vec!["*"] };
    assert_eq!(cors.allow_origins(), origins);
    assert_eq!(cors.allow_methods(), ["GET", "POST", "PUT", "DELETE", "OPTIONS"]);
    assert_eq!(cors.allow_headers(), ["Content-Type", "Authorization"]);
    assert_eq!(cors.expose_headers(), ["Content-Type"]);
    assert_eq!((cors.max_age(), cors.allow_credentials()), (Some(300), Some(false)));
    assert_tagged("API", map_tags(api.tags()), n);

    let st = emu.block(apigw.get_stage().api_id(&n.api).stage_name("$default").send()).expect("GetStage $default");
    assert_eq!(st.auto_deploy(), Some(true));
    let throttle = st.default_route_settings().expect("default route settings");
    assert_eq!((throttle.throttling_burst_limit(), throttle.throttling_rate_limit()), (Some(2000), Some(1000.0)));
    assert_tagged("stage", map_tags(st.tags()), n);

    let routes = emu.block(apigw.get_routes().api_id(&n.api).send()).expect("GetRoutes");
    let routes: BTreeMap<&str, &aws_sdk_apigatewayv2::types::Route> =
        routes.items().iter().map(|r| (r.route_key().unwrap_or_default(), r)).collect();
    assert_eq!(routes.keys().copied().collect::<Vec<_>>(), ["GET /public/b/{batchId}", "POST /batches"]);
    let execute_arn = format!("arn:aws:execute-api:us-east-1:{}:{}", n.account, n.api);
    for (key, function, jwt) in
        [("POST /batches", "handleBatches", true), ("GET /public/b/{batchId}", "handlePublic", false)]
    {
        let r = routes[key];
        assert_eq!(r.authorization_type().map(|a| a.as_str()), Some(if jwt { "JWT" } else { "NONE" }), "{key}");
        if jwt {
            let id = r.authorizer_id().expect("the route's authorizer");
            check_authorizer(emu, c, n, id);
        } else {
            assert_eq!(r.authorizer_id(), None, "{key}");
        }
        let target = r.target().expect("a target");
        let integration = target.strip_prefix("integrations/").unwrap_or_else(|| panic!("{key}: target {target}"));
        let i = emu
            .block(apigw.get_integration().api_id(&n.api).integration_id(integration).send())
            .expect("GetIntegration");
        assert_eq!(i.integration_type().map(|t| t.as_str()), Some("AWS_PROXY"), "{key}");
        assert_eq!(i.integration_uri(), Some(n.function_arn(function).as_str()), "{key}");
        assert_eq!(i.payload_format_version(), Some("2.0"), "{key}");

        // API Gateway may invoke the function, from this API only.
        let policy = emu.block(c.lambda.get_policy().function_name(n.function(function)).send()).expect("GetPolicy");
        let policy: Value = serde_json::from_str(policy.policy().expect("a policy")).expect("a JSON policy");
        let statements = policy["Statement"].as_array().expect("statements");
        assert_eq!(statements.len(), 1, "{policy}");
        let s = &statements[0];
        assert_eq!(s["Effect"], "Allow");
        assert_eq!(s["Action"], "lambda:InvokeFunction");
        assert_eq!(s["Principal"], json!({"Service": "apigateway.amazonaws.com"}));
        assert_eq!(s["Resource"], json!(n.function_arn(function)));
        assert_eq!(s["Condition"], json!({"ArnLike": {"AWS:SourceArn": format!("{execute_arn}/*/*")}}));
    }
    // The reminder function is invoked by the scheduler role, not through a permission.
    let none = emu.block(c.lambda.get_policy().function_name(n.function("sendReminder")).send());
    assert_eq!(none.expect_err("sendReminder has no resource policy").code(), Some("ResourceNotFoundException"));
}

fn check_authorizer(emu: &Emu, c: &Clients, n: &Names, id: &str) {
    let a = emu.block(c.apigw.get_authorizer().api_id(&n.api).authorizer_id(id).send()).expect("GetAuthorizer");
    assert_eq!(a.name(), Some("cognito-authorizer"));
    assert_eq!(a.authorizer_type().map(|t| t.as_str()), Some("JWT"));
    assert_eq!(a.identity_source(), ["$request.header.Authorization"]);
    let jwt = a.jwt_configuration().expect("a JWT configuration");
    assert_eq!(jwt.audience(), [n.client.as_str()]);
    assert_eq!(jwt.issuer(), Some(format!("https://cognito-idp.us-east-1.amazonaws.com/{}", n.pool).as_str()));
}

/// Nothing of the stack is left: each resource by name, and whatever carries the app's
/// name or the project's tag.
fn assert_gone(emu: &Emu, c: &Clients, n: &Names, roles: &[String]) {
    let code = |e: &dyn ProvideErrorMetadata| e.code().unwrap_or_default().to_string();
    let table = emu.block(c.ddb.describe_table().table_name(&n.table).send());
    assert_eq!(code(&table.expect_err("the table is deleted")), "ResourceNotFoundException");
    assert!(!emu.bucket_exists(&n.bucket), "bucket {} remains", n.bucket);
    let left: Vec<String> = emu.bucket_names().into_iter().filter(|b| b.contains(&n.app)).collect();
    assert!(left.is_empty(), "buckets of {} remain: {left:?}", n.app);

    let pool = emu.block(c.cognito.describe_user_pool().user_pool_id(&n.pool).send());
    assert_eq!(code(&pool.expect_err("the user pool is deleted")), "ResourceNotFoundException");
    let pools = emu.block(c.cognito.list_user_pools().max_results(60).send()).expect("ListUserPools");
    let left: Vec<&str> = pools.user_pools().iter().filter_map(|p| p.name()).filter(|p| p.contains(&n.app)).collect();
    assert!(left.is_empty(), "user pools of {} remain: {left:?}", n.app);

    for f in FUNCTIONS {
        let got = emu.block(c.lambda.get_function().function_name(n.function(f)).send());
        assert_eq!(code(&got.expect_err("the function is deleted")), "ResourceNotFoundException", "{f}");
    }
    let groups = emu
        .block(c.logs.describe_log_groups().log_group_name_prefix(format!("/aws/lambda/{}-", n.base)).send())
        .expect("DescribeLogGroups");
    assert!(groups.log_groups().is_empty(), "log groups remain: {:?}", groups.log_groups());
    let alarms =
        emu.block(c.cw.describe_alarms().alarm_name_prefix(format!("{}-", n.base)).send()).expect("DescribeAlarms");
    assert!(alarms.metric_alarms().is_empty(), "alarms remain: {:?}", alarms.metric_alarms());

    let apis = emu.block(c.apigw.get_apis().send()).expect("GetApis");
    let left: Vec<&str> = apis.items().iter().filter_map(|a| a.name()).filter(|a| a.contains(&n.app)).collect();
    assert!(left.is_empty(), "APIs of {} remain: {left:?}", n.app);

    let (all_roles, _, _) = emu.iam_names();
    for r in roles {
        assert!(!all_roles.contains(r), "role {r} remains");
    }
    assert_eq!(emu.roles_tagged(&n.project), Vec::<String>::new(), "roles tagged cairn:project={} remain", n.project);
}
