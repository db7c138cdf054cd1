//! Acceptance: examples/home-inventory's `prod` on the emulator, as its README runs it.
//!
//! - The team's set-up, through the SDK: the state bucket, the KMS key and its alias for
//!   the secrets, and the domain's hosted zone (each named for this run). Then
//!   `config set` of the domain, the zone and the repository, and `config set --secret` of
//!   the three secrets (from stdin).
//! - `up`, then read back through the AWS SDK: the function and the HTTP API in us-east-1
//!   and in us-east-2; the two DSQL clusters, peered with each other and witnessed from
//!   us-west-2, protected; the secrets as SecureString parameters in both regions; the
//!   distribution's origins, behaviours, aliases and certificate; the issued
//!   certificate and its validation record; the alias records; the GitHub OIDC provider
//!   and the deploy role's trust condition; the alarms in both regions; the dashboard.
//! - `preview --expect-no-changes`.
//! - No secret value in plain text: not in the state bucket (state, journal, history),
//!   the outputs, the functions' configuration, or the project's files.
//! - `stack rollback` of a change (the functions' memory), read back in both regions.
//! - `destroy` refused, naming both clusters, while their deletion protection is on; then
//!   `config set DeletionProtection false`, `up`, `destroy`, and nothing left.

#[path = "common/aws.rs"]
mod aws;
mod common;

use std::collections::{BTreeMap, BTreeSet};

use aws::{arn_name, doc, emulator, strings, unique, Emu};
use common::Proj;
use serde_json::{json, Value};

const OUTPUTS: [&str; 10] = [
    "apiEndpointEast",
    "apiEndpointWest",
    "cloudFrontDistributionId",
    "dsqlEndpointEast",
    "dsqlEndpointWest",
    "frontendBucketName",
    "githubActionsRoleArn",
    "lambdaFunctionNameEast",
    "lambdaFunctionNameWest",
    "websiteUrl",
];

/// The account holds one GitHub OIDC provider, which a stack makes unless it is given the
/// existing one: the tests of this file deploy one at a time.
static GITHUB_PROVIDER: std::sync::Mutex<()> = std::sync::Mutex::new(());

const EAST: &str = "us-east-1";
const WEST: &str = "us-east-2";

struct Regional {
    lambda: aws_sdk_lambda::Client,
    api: aws_sdk_apigatewayv2::Client,
    dsql: aws_sdk_dsql::Client,
    ssm: aws_sdk_ssm::Client,
    cloudwatch: aws_sdk_cloudwatch::Client,
}

fn regional(emu: &Emu, region: &str) -> Regional {
    let c = emu.in_region(region);
    Regional {
        lambda: aws_sdk_lambda::Client::new(&c),
        api: aws_sdk_apigatewayv2::Client::new(&c),
        dsql: aws_sdk_dsql::Client::new(&c),
        ssm: aws_sdk_ssm::Client::new(&c),
        cloudwatch: aws_sdk_cloudwatch::Client::new(&c),
    }
}

/// The secrets, distinct for this run, so that finding one anywhere means it leaked.
struct Secrets {
    google_client_id: String,
    google_client_secret: String,
    anthropic_api_key: String,
}

impl Secrets {
    fn all(&self) -> [(&'static str, &str); 3] {
        [
            ("GoogleClientId", &self.google_client_id),
            ("GoogleClientSecret", &self.google_client_secret),
            ("AnthropicApiKey", &self.anthropic_api_key),
        ]
    }

    fn assert_absent(&self, what: &str, text: &str) {
        for (name, value) in self.all() {
            assert!(!text.contains(value), "{name}'s value is readable in plain text in {what}");
        }
    }
}

/// The deployed prod stack: the project, the team's set-up and what the checks need.
struct Deployed {
    p: Proj,
    stack: &'static str,
    project: String,
    domain: String,
    zone: String,
    repo: String,
    state_bucket: String,
    secrets: Secrets,
    /// GitHub's OIDC provider, where the account had it before the stack.
    existing_oidc: Option<String>,
}

const STACK: &str = "prod";

impl Deployed {
    fn run(&self, args: &[&str]) -> common::Out {
        let mut all = vec!["-s", self.stack];
        all.extend_from_slice(args);
        self.p.run(&all)
    }
}

/// README "Set-up": the state bucket, the KMS alias and the hosted zone, made here through
/// the SDK; the stack's configuration set with `cairn config set`.
fn set_up(emu: &Emu, stack: &'static str) -> Deployed {
    let project = unique("hinv");
    let p = Proj::example("home-inventory", &project);

    let state_bucket = unique("hinv-state");
    emu.create_bucket(&state_bucket);
    let alias = unique("home-inventory");
    emu.create_kms_alias(&format!("alias/{alias}"));
    let cairn = p.read("Cairn.yaml");
    let ours = cairn
        .replace("s3://home-inventory-cairn-state/", &format!("s3://{state_bucket}/"))
        .replace("awskms://alias/home-inventory?", &format!("awskms://alias/{alias}?"));
    assert!(
        ours.contains(&format!("backend: s3://{state_bucket}/home-inventory?region=us-east-1"))
            && ours.contains(&format!("awskms://alias/{alias}?region=us-east-1")),
        "examples/home-inventory/Cairn.yaml does not name the team's bucket and key as expected:\n{cairn}"
    );
    p.write("Cairn.yaml", &ours);

    // The domain's zone exists before the stack (the reference's prerequisite).
    let domain = format!("{project}.example.com");
    let route53 = aws_sdk_route53::Client::new(&emu.config);
    let zone = emu
        .block(route53.create_hosted_zone().name(&domain).caller_reference(&project).send())
        .expect("CreateHostedZone")
        .hosted_zone
        .expect("a zone")
        .id;
    let zone = zone.trim_start_matches("/hostedzone/").to_string();

    // An account holds one OIDC provider per URL: where GitHub's exists already (a
    // run of this test stopped before its destroy), the stack uses it, as the README says.
    let providers = emu.block(emu.iam.list_open_id_connect_providers().send()).expect("ListOpenIDConnectProviders");
    let existing = providers
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn())
        .find(|arn| arn.ends_with(":oidc-provider/token.actions.githubusercontent.com"))
        .map(str::to_string);
    if let Some(arn) = &existing {
        p.run(&["-s", stack, "config", "set", "GithubOidcProviderArn", arn]).ok();
    }

    let repo = format!("howardtyson/{project}");
    for (k, v) in [("DomainName", domain.as_str()), ("HostedZoneId", zone.as_str()), ("GithubRepo", repo.as_str())] {
        p.run(&["-s", stack, "config", "set", k, v]).ok();
    }
    let secrets = Secrets {
        google_client_id: unique("gcid"),
        google_client_secret: unique("gcsecret"),
        anthropic_api_key: unique("sk-ant"),
    };
    for (k, v) in secrets.all() {
        p.run_stdin(&["-s", stack, "config", "set", "--secret", k], v).ok();
    }
    let stack_file = p.read(&format!("stacks/{stack}.yaml"));
    secrets.assert_absent("the stack file", &stack_file);
    assert_eq!(stack_file.matches("secure: v1:").count(), 3, "the three secrets, encrypted:\n{stack_file}");
    Deployed { p, stack, project, domain, zone, repo, state_bucket, secrets, existing_oidc: existing }
}

#[test]
fn prod_deploys_in_two_regions_behind_cloudfront_rolls_back_and_destroys_once_unprotected() {
    let Some(emu) = emulator() else { return };
    let _one_at_a_time = GITHUB_PROVIDER.lock().unwrap_or_else(|e| e.into_inner());
    let d = set_up(&emu, STACK);
    let app = format!("{}-{STACK}", d.project);

    d.run(&["up", "--yes"]).ok();
    let outputs = d.run(&["stack", "output", "--json"]).ok().json();
    let keys: Vec<&String> = outputs.as_object().expect("outputs").keys().collect();
    assert_eq!(keys, OUTPUTS, "{outputs:#}");
    let out = |k: &str| outputs[k].as_str().unwrap_or_else(|| panic!("output {k}: {outputs:#}")).to_string();
    assert_eq!(out("websiteUrl"), format!("https://{}", d.domain));
    assert!(!d.p.join(".cairn/stacks").exists(), "the state is in the team's bucket, not on disk");
    let state = d.p.state(STACK);
    let physical = |id: &str| {
        state["resources"][id]["physical_id"].as_str().unwrap_or_else(|| panic!("{id} in the state")).to_string()
    };
    let attribute = |id: &str, a: &str| {
        state["resources"][id]["attributes"][a].as_str().unwrap_or_else(|| panic!("{id}.{a} in the state")).to_string()
    };

    let (east, west) = (regional(&emu, EAST), regional(&emu, WEST));
    let sides = [
        ("East", EAST, &east, "lambdaFunctionNameEast", "apiEndpointEast", "dsqlEndpointEast"),
        ("West", WEST, &west, "lambdaFunctionNameWest", "apiEndpointWest", "dsqlEndpointWest"),
    ];

    // The backend in each region: the function, its API, its cluster, its secrets.
    let zip = std::fs::read(d.p.join("dist/bootstrap.zip")).expect("dist/bootstrap.zip");
    let code_sha = cairn_core::asset::Asset::digest(&zip);
    let mut cluster_arns = BTreeMap::new();
    for (side, region, c, function_out, api_out, dsql_out) in sides {
        let function = out(function_out);
        assert_eq!(function, format!("{app}-api"));
        let f = emu.block(c.lambda.get_function().function_name(&function).send()).expect("GetFunction");
        let conf = f.configuration().expect("a configuration");
        assert!(conf.function_arn().unwrap_or_default().contains(&format!(":{region}:")), "{side} is in {region}");
        assert_eq!(conf.runtime().map(|r| r.as_str()), Some("provided.al2023"));
        assert_eq!(conf.handler(), Some("bootstrap"));
        let arch: Vec<&str> = conf.architectures().iter().map(|a| a.as_str()).collect();
        assert_eq!(arch, ["arm64"]);
        assert_eq!(conf.code_sha256(), Some(code_sha.as_str()), "{side} runs dist/bootstrap.zip");
        assert_eq!(conf.memory_size(), Some(512));
        let env: BTreeMap<String, String> =
            conf.environment().and_then(|e| e.variables()).cloned().unwrap_or_default().into_iter().collect();
        assert_eq!(env.get("DSQL_ENDPOINT"), Some(&out(dsql_out)), "{env:?}");
        assert_eq!(env.get("SITE_URL"), Some(&out("websiteUrl")));
        for (var, name) in [
            ("GOOGLE_CLIENT_ID_PARAMETER", "google-client-id"),
            ("GOOGLE_CLIENT_SECRET_PARAMETER", "google-client-secret"),
            ("ANTHROPIC_API_KEY_PARAMETER", "anthropic-api-key"),
        ] {
            assert_eq!(env.get(var), Some(&format!("/{app}/{name}")), "{side}: {env:?}");
        }
        d.secrets.assert_absent(&format!("the {side} function's configuration"), &format!("{conf:?}"));

        // The secrets, SecureString parameters under the region's own key.
        let key_arn = attribute(&format!("{side}.SecretsKey"), "Arn");
        assert!(key_arn.contains(&format!(":{region}:")), "{key_arn}");
        for (name, value) in [
            ("google-client-id", &d.secrets.google_client_id),
            ("google-client-secret", &d.secrets.google_client_secret),
            ("anthropic-api-key", &d.secrets.anthropic_api_key),
        ] {
            let path = format!("/{app}/{name}");
            let p = emu
                .block(c.ssm.get_parameter().name(&path).with_decryption(true).send())
                .unwrap_or_else(|e| panic!("GetParameter {path} in {region}: {e:?}"))
                .parameter
                .expect("a parameter");
            assert_eq!(p.r#type().map(|t| t.as_str()), Some("SecureString"), "{path}");
            assert_eq!(p.value(), Some(value.as_str()), "{path} holds the secret, decrypted");
            let described = emu
                .block(
                    c.ssm
                        .describe_parameters()
                        .parameter_filters(
                            aws_sdk_ssm::types::ParameterStringFilter::builder()
                                .key("Name")
                                .values(&path)
                                .build()
                                .expect("a filter"),
                        )
                        .send(),
                )
                .expect("DescribeParameters");
            let key = described.parameters()[0].key_id().unwrap_or_default().to_string();
            assert!(key_arn.ends_with(&key) || key == key_arn, "{path} is under the region's key {key_arn}: {key}");
        }

        // The HTTP API: every request to the function.
        let endpoint = out(api_out);
        let api_id = endpoint.trim_start_matches("https://").split('.').next().expect("an API id").to_string();
        assert!(endpoint.contains(&format!(".execute-api.{region}.")), "{endpoint}");
        let api = emu.block(c.api.get_api().api_id(&api_id).send()).expect("GetApi");
        assert_eq!(api.protocol_type().map(|p| p.as_str()), Some("HTTP"));
        assert_eq!(api.name(), Some(format!("{app}-api").as_str()));
        let cors = api.cors_configuration().expect("CORS");
        assert_eq!(cors.allow_origins(), [out("websiteUrl")]);
        let routes = emu.block(c.api.get_routes().api_id(&api_id).send()).expect("GetRoutes");
        let route = routes.items().iter().find(|r| r.route_key() == Some("$default")).expect("the $default route");
        let integration_id = route.target().expect("a target").trim_start_matches("integrations/").to_string();
        let integration = emu
            .block(c.api.get_integration().api_id(&api_id).integration_id(&integration_id).send())
            .expect("GetIntegration");
        assert_eq!(integration.integration_uri(), conf.function_arn(), "{side}'s API calls {side}'s function");

        // The alarms: errors and duration, on this region's function.
        let alarms = emu
            .block(c.cloudwatch.describe_alarms().alarm_name_prefix(format!("{app}-api-")).send())
            .expect("DescribeAlarms");
        let by_name: BTreeMap<&str, &aws_sdk_cloudwatch::types::MetricAlarm> =
            alarms.metric_alarms().iter().map(|a| (a.alarm_name().unwrap_or_default(), a)).collect();
        let errors = by_name.get(format!("{app}-api-errors").as_str()).expect("the error alarm");
        assert_eq!(
            (errors.metric_name(), errors.threshold(), errors.period()),
            (Some("Errors"), Some(10.0), Some(600))
        );
        let duration = by_name.get(format!("{app}-api-duration").as_str()).expect("the duration alarm");
        assert_eq!((duration.metric_name(), duration.threshold()), (Some("Duration"), Some(25000.0)));
        for a in [errors, duration] {
            let dims: Vec<(&str, &str)> =
                a.dimensions().iter().map(|d| (d.name().unwrap_or_default(), d.value().unwrap_or_default())).collect();
            assert_eq!(dims, [("FunctionName", function.as_str())]);
        }

        cluster_arns.insert(side, attribute(&format!("{side}.Cluster"), "ResourceArn"));
    }

    // The clusters: peered with each other, witnessed from us-west-2, protected.
    for (side, region, c, _, _, dsql_out) in sides {
        let other = if side == "East" { "West" } else { "East" };
        let id = physical(&format!("{side}.Cluster"));
        let cluster = emu.block(c.dsql.get_cluster().identifier(&id).send()).expect("GetCluster");
        assert!(cluster.arn().contains(&format!(":{region}:")), "{side}'s cluster is in {region}");
        assert!(cluster.deletion_protection_enabled(), "prod protects {side}'s cluster");
        let multi = cluster.multi_region_properties().expect("multi-Region properties");
        assert_eq!(multi.witness_region(), Some("us-west-2"));
        let peers: Vec<&String> = multi.clusters().iter().filter(|a| **a != cluster.arn()).collect();
        assert_eq!(peers, [&cluster_arns[other]], "{side} is peered with {other}");
        assert!(out(dsql_out).contains(&id), "{dsql_out} is the cluster's endpoint: {}", out(dsql_out));
    }

    // The certificate: in us-east-1, issued, its validation record in the zone.
    let cert_arn = physical("Certificate");
    assert!(cert_arn.contains(":us-east-1:"), "{cert_arn}");
    let acm = aws_sdk_acm::Client::new(&emu.in_region(EAST));
    let cert = emu.block(acm.describe_certificate().certificate_arn(&cert_arn).send()).expect("DescribeCertificate");
    let cert = cert.certificate.expect("a certificate");
    assert_eq!(cert.status, Some(aws_sdk_acm::types::CertificateStatus::Issued));
    assert_eq!(cert.domain_name.as_deref(), Some(d.domain.as_str()));
    let route53 = aws_sdk_route53::Client::new(&emu.config);
    let records = emu
        .block(route53.list_resource_record_sets().hosted_zone_id(&d.zone).send())
        .expect("ListResourceRecordSets")
        .resource_record_sets;
    for o in cert.domain_validation_options.unwrap_or_default() {
        let r = o.resource_record.expect("a validation record");
        assert!(
            records.iter().any(|x| x.name.eq_ignore_ascii_case(&r.name) && x.r#type.as_str() == "CNAME"),
            "the validation CNAME {} is in the zone",
            r.name
        );
    }

    // The distribution: the frontend through its origin access control, the primary
    // region's API behind /api/*, the domain and its certificate.
    let cloudfront = aws_sdk_cloudfront::Client::new(&emu.config);
    let dist_id = out("cloudFrontDistributionId");
    let dist =
        emu.block(cloudfront.get_distribution().id(&dist_id).send()).expect("GetDistribution").distribution.unwrap();
    let config = dist.distribution_config.as_ref().expect("a config");
    let origins: Vec<(&str, &str)> = config
        .origins
        .as_ref()
        .map(|o| o.items.iter().map(|o| (o.id.as_str(), o.domain_name.as_str())).collect())
        .unwrap_or_default();
    let frontend = out("frontendBucketName");
    let api_host = |k: &str| out(k).trim_start_matches("https://").to_string();
    assert_eq!(
        origins,
        [
            ("frontend", format!("{frontend}.s3.us-east-1.amazonaws.com").as_str()),
            ("api-east", api_host("apiEndpointEast").as_str()),
            ("api-west", api_host("apiEndpointWest").as_str())
        ]
    );
    let behaviors = config.cache_behaviors.as_ref().expect("cache behaviors").items();
    assert_eq!((behaviors[0].path_pattern.as_str(), behaviors[0].target_origin_id.as_str()), ("/api/*", "api-east"));
    let methods = behaviors[0].allowed_methods.as_ref().map(|m| m.items.len());
    assert_eq!(methods, Some(7), "the API takes writes through CloudFront");
    assert_eq!(config.default_cache_behavior.as_ref().map(|b| b.target_origin_id.as_str()), Some("frontend"));
    let aliases = config.aliases.as_ref().map(|a| a.items().to_vec()).unwrap_or_default();
    assert_eq!(aliases, std::slice::from_ref(&d.domain));
    let viewer = config.viewer_certificate.as_ref().expect("a viewer certificate");
    assert_eq!(viewer.acm_certificate_arn(), Some(cert_arn.as_str()));
    assert_eq!(config.default_root_object.as_deref(), Some("index.html"));
    assert!(config.enabled);

    // The frontend bucket: read by this distribution only.
    let policy = emu.block(emu.s3.get_bucket_policy().bucket(&frontend).send()).expect("GetBucketPolicy");
    let policy = doc(policy.policy().expect("a policy"));
    let statement = &policy["Statement"][0];
    assert_eq!(statement["Principal"], json!({"Service": "cloudfront.amazonaws.com"}));
    assert_eq!(
        statement["Condition"]["StringEquals"]["AWS:SourceArn"]
            .as_str()
            .map(|a| a.ends_with(&format!(":distribution/{dist_id}"))),
        Some(true),
        "{policy:#}"
    );

    // The alias records: the domain, A and AAAA, to the distribution in CloudFront's zone.
    // Route 53 answers names with the final dot (moto leaves it off an alias target).
    let dist_domain = dist.domain_name.as_str();
    for kind in ["A", "AAAA"] {
        let r = records
            .iter()
            .find(|r| r.name == format!("{}.", d.domain) && r.r#type.as_str() == kind)
            .unwrap_or_else(|| panic!("the {kind} record of {}: {records:?}", d.domain));
        let target = r.alias_target.as_ref().expect("an alias");
        assert_eq!(
            (target.dns_name.trim_end_matches('.'), target.hosted_zone_id.as_str()),
            (dist_domain, "Z2FDTNDATAQYW2")
        );
    }

    // GitHub Actions: the OIDC provider, and the role only the repository may assume.
    let role_arn = out("githubActionsRoleArn");
    let provider_arn = d.existing_oidc.clone().unwrap_or_else(|| physical("GithubOidc"));
    assert!(provider_arn.ends_with(":oidc-provider/token.actions.githubusercontent.com"), "{provider_arn}");
    let provider =
        emu.block(emu.iam.get_open_id_connect_provider().open_id_connect_provider_arn(&provider_arn).send()).unwrap();
    assert_eq!(provider.client_id_list(), ["sts.amazonaws.com"]);
    let role = emu.block(emu.iam.get_role().role_name(arn_name(&role_arn)).send()).expect("GetRole");
    let trust = doc(role.role().and_then(|r| r.assume_role_policy_document()).expect("a trust policy"));
    let statement = &trust["Statement"][0];
    assert_eq!(statement["Principal"]["Federated"], json!(provider_arn));
    assert_eq!(strings(&statement["Action"]), BTreeSet::from(["sts:AssumeRoleWithWebIdentity".to_string()]));
    assert_eq!(
        statement["Condition"],
        json!({
            "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
            "StringLike": {"token.actions.githubusercontent.com:sub": format!("repo:{}:*", d.repo)}
        })
    );

    // The dashboard home-inventory-{stack}: both regions' functions.
    let cloudwatch = &east.cloudwatch;
    let dashboard = emu.block(cloudwatch.get_dashboard().dashboard_name(&app).send()).expect("GetDashboard");
    let body: Value = serde_json::from_str(dashboard.dashboard_body().expect("a body")).expect("JSON");
    let text = body.to_string();
    for f in [out("lambdaFunctionNameEast"), out("lambdaFunctionNameWest")] {
        assert!(text.contains(&f), "the dashboard shows {f}");
    }
    assert!(text.contains("\"us-east-2\""), "the dashboard reads the secondary region's metrics");

    // Nothing changed since `up`.
    d.run(&["preview", "--expect-no-changes"]).ok();
    // And everything reads back as `up` made it, but for one answer of the emulator:
    // moto's CloudFront keeps neither `S3OriginConfig` nor `OriginAccessControlId` of an
    // origin (docs/providers.md), so the frontend origin reads back without them.
    let refreshed = d.run(&["preview", "--refresh", "--json"]).ok().json();
    let drifted: Vec<&Value> =
        refreshed["steps"].as_array().expect("steps").iter().filter(|s| s["action"] != "same").collect();
    assert_eq!(drifted.len(), 1, "only the distribution reads back otherwise: {refreshed:#}");
    let change = &drifted[0]["changes"][0];
    assert_eq!(
        (drifted[0]["id"].as_str(), change["property"].as_str()),
        (Some("Distribution"), Some("DistributionConfig"))
    );
    let mut wanted = change["new"].clone();
    let frontend_origin = wanted["Origins"][0].as_object_mut().expect("the frontend origin");
    assert!(
        frontend_origin.remove("OriginAccessControlId").is_some() && frontend_origin.remove("S3OriginConfig").is_some()
    );
    assert_eq!(change["old"], wanted, "the distribution differs from what moto answers only by the origin's OAC");

    // No secret in plain text: the state bucket (state, journal, history), the outputs.
    for (key, body) in emu.objects(&d.state_bucket) {
        d.secrets.assert_absent(&format!("s3://{}/{key}", d.state_bucket), &String::from_utf8_lossy(&body));
    }
    d.secrets.assert_absent("the outputs", &outputs.to_string());
    d.secrets.assert_absent("`stack output`", &d.run(&["stack", "output"]).ok().stdout);

    // A change, then `stack rollback` to the version before it.
    let history = d.run(&["stack", "history", "--json"]).ok().json();
    let deployed =
        history.as_array().expect("history").last().expect("a version")["version"].as_u64().expect("a version");
    d.run(&["config", "set", "LambdaMemoryMb", "1024"]).ok();
    d.run(&["up", "--yes"]).ok();
    let memory = |c: &Regional, f: &str| {
        emu.block(c.lambda.get_function_configuration().function_name(f).send())
            .expect("GetFunctionConfiguration")
            .memory_size
    };
    let (fe, fw) = (out("lambdaFunctionNameEast"), out("lambdaFunctionNameWest"));
    assert_eq!((memory(&east, &fe), memory(&west, &fw)), (Some(1024), Some(1024)));
    let rollback = d.run(&["stack", "rollback", "--to", &deployed.to_string(), "--yes"]).ok();
    assert!(rollback.stdout.contains("East.Function") && rollback.stdout.contains("West.Function"), "{rollback}");
    assert_eq!((memory(&east, &fe), memory(&west, &fw)), (Some(512), Some(512)), "version {deployed}'s memory again");
    d.run(&["config", "rm", "LambdaMemoryMb"]).ok();
    d.run(&["preview", "--expect-no-changes"]).ok();

    // Deletion protection: destroy refuses both clusters, names them, and deletes nothing
    // (not even what does not use them: a half-destroyed site is no use to anyone).
    let refused = d.run(&["destroy", "--yes"]).code(1);
    for side in ["East", "West"] {
        assert!(refused.stderr.contains(&format!("{side}.Cluster (AWS::DSQL::Cluster)")), "{refused}");
        assert!(refused.stderr.contains(&physical(&format!("{side}.Cluster"))), "{refused}");
    }
    assert!(refused.stderr.contains("DeletionProtected"), "{refused}");
    // The template takes the property from a stack parameter, through the component.
    assert!(
        refused.stderr.contains(
            "help: the template takes `DeletionProtectionEnabled` from the stack parameter `DeletionProtection`: \
             `cairn config set DeletionProtection false -s prod`, then `cairn up`"
        ),
        "{refused}"
    );
    for (side, _, c, function_out, _, _) in sides {
        let id = physical(&format!("{side}.Cluster"));
        emu.block(c.dsql.get_cluster().identifier(&id).send()).expect("the protected cluster is still there");
        emu.block(c.lambda.get_function().function_name(out(function_out)).send()).expect("and what uses it");
    }
    let records = emu
        .block(route53.list_resource_record_sets().hosted_zone_id(&d.zone).send())
        .expect("ListResourceRecordSets")
        .resource_record_sets;
    let aliases = records.iter().filter(|r| r.alias_target.is_some()).count();
    assert_eq!(aliases, 2, "the site's records are still there: {records:?}");
    emu.block(emu.s3.get_bucket_policy().bucket(&frontend).send()).expect("and the frontend's bucket policy");
    d.run(&["preview", "--expect-no-changes"]).ok();

    // Lifted, destroy removes everything.
    d.run(&["config", "set", "DeletionProtection", "false"]).ok();
    d.run(&["up", "--yes"]).ok();
    d.run(&["destroy", "--yes"]).ok();
    assert_eq!(d.p.state(STACK)["resources"], json!({}));
    for (side, region, c, function_out, api_out, _) in sides {
        let id = physical(&format!("{side}.Cluster"));
        let gone = emu.block(c.dsql.get_cluster().identifier(&id).send()).map(|_| ()).map_err(|e| code(&e));
        assert_eq!(gone, Err("ResourceNotFoundException".into()), "{side}'s cluster is gone");
        let gone = emu
            .block(c.lambda.get_function().function_name(out(function_out)).send())
            .map(|_| ())
            .map_err(|e| code(&e));
        assert_eq!(gone, Err("ResourceNotFoundException".into()), "{side}'s function is gone");
        let api_id = out(api_out).trim_start_matches("https://").split('.').next().unwrap().to_string();
        let gone = emu.block(c.api.get_api().api_id(&api_id).send()).map(|_| ()).map_err(|e| code(&e));
        assert_eq!(gone, Err("NotFoundException".into()), "{side}'s API in {region} is gone");
        let params = emu
            .block(c.ssm.get_parameters_by_path().path(format!("/{app}")).recursive(true).send())
            .expect("GetParametersByPath");
        assert!(params.parameters().is_empty(), "{side}'s secrets are gone");
        let alarms = emu
            .block(c.cloudwatch.describe_alarms().alarm_name_prefix(format!("{app}-")).send())
            .expect("DescribeAlarms");
        assert!(alarms.metric_alarms().is_empty(), "{side}'s alarms are gone");
    }
    let gone = emu.block(cloudfront.get_distribution().id(&dist_id).send()).map(|_| ()).map_err(|e| code(&e));
    assert_eq!(gone, Err("NoSuchDistribution".into()));
    assert!(!emu.bucket_exists(&frontend), "the frontend bucket is gone");
    let gone = emu.block(emu.iam.get_role().role_name(arn_name(&role_arn)).send()).map(|_| ()).map_err(|e| code(&e));
    assert_eq!(gone, Err("NoSuchEntity".into()));
    let gone = emu
        .block(emu.iam.get_open_id_connect_provider().open_id_connect_provider_arn(&provider_arn).send())
        .map(|_| ())
        .map_err(|e| code(&e));
    // The stack's provider goes with it; one it was given stays.
    let expected = if d.existing_oidc.is_some() { Ok(()) } else { Err("NoSuchEntity".into()) };
    assert_eq!(gone, expected);
    let dashboards =
        emu.block(cloudwatch.list_dashboards().dashboard_name_prefix(&app).send()).expect("ListDashboards");
    assert!(dashboards.dashboard_entries().is_empty(), "the dashboard is gone");
    let records = emu
        .block(route53.list_resource_record_sets().hosted_zone_id(&d.zone).send())
        .expect("ListResourceRecordSets")
        .resource_record_sets;
    let left: Vec<&str> = records.iter().map(|r| r.r#type.as_str()).collect();
    // The zone's own NS and SOA, and the certificate's validation CNAME: a certificate's
    // delete leaves it, as every certificate of the domain shares it.
    assert_eq!(left.iter().filter(|t| ["A", "AAAA"].contains(t)).count(), 0, "the alias records are gone: {left:?}");
}

/// The error code of an SDK error.
fn code<E: aws_sdk_s3::error::ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or_default().to_string()
}

#[test]
fn dev_is_the_same_system_cheaper_and_unprotected() {
    let Some(emu) = emulator() else { return };
    let _one_at_a_time = GITHUB_PROVIDER.lock().unwrap_or_else(|e| e.into_inner());
    let d = set_up(&emu, "dev");
    let app = format!("{}-dev", d.project);
    // The reference's pull-request check runs with no AWS access: `validate` then leaves
    // the KMS-encrypted secrets encrypted (unknown) and still checks everything else.
    let offline = Proj::cmd_in(d.p.path(), &["-s", "dev", "validate"])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_MAX_ATTEMPTS", "1")
        .output()
        .expect("run cairn");
    let stderr = String::from_utf8_lossy(&offline.stderr);
    assert_eq!(offline.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("note: the stack's secrets were not decrypted"), "{stderr}");
    assert!(stderr.contains("template.yaml is valid for stack `dev`: "), "{stderr}");
    d.secrets.assert_absent("validate's output", &stderr);
    d.run(&["up", "--yes"]).ok();
    d.run(&["preview", "--expect-no-changes"]).ok();
    let state = d.p.state("dev");
    for (side, region) in [("East", EAST), ("West", WEST)] {
        let c = regional(&emu, region);
        let conf = emu
            .block(c.lambda.get_function_configuration().function_name(format!("{app}-api")).send())
            .expect("GetFunctionConfiguration");
        assert_eq!(conf.memory_size(), Some(256), "dev's {side} function is smaller");
        let id = state["resources"][format!("{side}.Cluster")]["physical_id"].as_str().expect("a cluster").to_string();
        let cluster = emu.block(c.dsql.get_cluster().identifier(&id).send()).expect("GetCluster");
        assert!(!cluster.deletion_protection_enabled(), "dev's clusters are not protected");
    }
    let cloudfront = aws_sdk_cloudfront::Client::new(&emu.config);
    let id = state["resources"]["Distribution"]["physical_id"].as_str().expect("a distribution").to_string();
    let dist = emu.block(cloudfront.get_distribution_config().id(&id).send()).expect("GetDistributionConfig");
    let price = dist.distribution_config().and_then(|c| c.price_class()).map(|p| p.as_str().to_string());
    assert_eq!(price.as_deref(), Some("PriceClass_100"));
    // No protection to lift: destroy takes everything at once.
    d.run(&["destroy", "--yes"]).ok();
    assert_eq!(d.p.state("dev")["resources"], json!({}));
}
