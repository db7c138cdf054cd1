//! Acceptance: examples/epistemix deployed through the CLI on the emulator, one test per
//! stack (`dev`, `staging`). Each runs in a temp copy renamed to a project of its own, with
//! an `App` of its own (`cairn config set App`: every resource name and the Parameter Store
//! path start with it), and follows the README's first deployment: `up --target
//! Repository` (the repository alone), an image
//! put into it (ECR `PutImage`, as `docker push` does), then `up` for everything. It reads
//! back through the SDK what makes the platform private and least-privilege (the VPC and
//! its routes, the security groups' rules exactly, the database not publicly accessible in
//! the private subnets, the bastion's profile and address, the function's VPC placement
//! and image, the roles, the SSM parameters and their types, the API's methods and
//! throttling, the bucket), requires an empty `preview`, and leaves nothing after
//! `destroy`, the VPC included. The password given through `EPISTEMIX_DB_PASSWORD` must
//! appear in no command's output and no file of the project (its state and history).

#[path = "common/aws.rs"]
mod aws;
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Instant;

use aws::{arn_name, emulator, strings, unique, Emu};
use aws_sdk_s3::error::ProvideErrorMetadata;
use common::{Out, Proj};
use serde_json::{json, Value};

/// What differs between the environments (the stack files).
struct Env {
    stack: &'static str,
    cidr: &'static str,
    class: &'static str,
    backups: i32,
    rate: f64,
    burst: i32,
    origin: &'static str,
    log_days: i32,
    upload_days: i32,
    /// `DEVELOPER_IP` for the run: set for dev, unset for staging (no such rule then).
    developer_ip: Option<&'static str>,
    /// The database's deletion protection, and whether its delete takes a final snapshot
    /// (`DBDeletionProtection`, `DBDeletionPolicy`).
    protected: bool,
    final_snapshot: bool,
}

const DEV: Env = Env {
    stack: "dev",
    cidr: "10.10.0.0/16",
    class: "db.t3.micro",
    backups: 1,
    rate: 100.0,
    burst: 200,
    origin: "*",
    log_days: 14,
    upload_days: 30,
    developer_ip: Some("203.0.113.7/32"),
    protected: false,
    final_snapshot: false,
};

const STAGING: Env = Env {
    stack: "staging",
    cidr: "10.20.0.0/16",
    class: "db.t3.small",
    backups: 7,
    rate: 500.0,
    burst: 1000,
    origin: "https://staging.epistemix.com",
    log_days: 30,
    upload_days: 90,
    developer_ip: None,
    protected: true,
    final_snapshot: true,
};

/// The outputs the checks read (the stack has more).
const OUTPUTS: [&str; 6] =
    ["BastionInstanceId", "DbEndpoint", "FunctionName", "RepositoryUri", "StageUrl", "UploadBucketName"];

const AL2023: &str = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
const PASSPHRASE: &str = "epistemix test passphrase";

#[test]
fn dev() {
    deploy_check_destroy(&DEV);
}

#[test]
fn staging() {
    deploy_check_destroy(&STAGING);
}

/// SDK clients for the services epistemix uses beyond S3 and IAM.
struct Clients {
    ec2: aws_sdk_ec2::Client,
    rds: aws_sdk_rds::Client,
    ssm: aws_sdk_ssm::Client,
    ecr: aws_sdk_ecr::Client,
    lambda: aws_sdk_lambda::Client,
    apigw: aws_sdk_apigateway::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
}

impl Clients {
    fn new(emu: &Emu) -> Clients {
        let config = emu.block(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new("us-east-1"))
                .load(),
        );
        Clients {
            ec2: aws_sdk_ec2::Client::new(&config),
            rds: aws_sdk_rds::Client::new(&config),
            ssm: aws_sdk_ssm::Client::new(&config),
            ecr: aws_sdk_ecr::Client::new(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
            apigw: aws_sdk_apigateway::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
        }
    }
}

/// The project under test: `cairn` run with the environment the README exports, every
/// output kept to look for the password in.
struct Run<'a> {
    p: Proj,
    env: &'a Env,
    password: String,
    outputs: Vec<Out>,
}

impl Run<'_> {
    #[track_caller]
    fn cairn(&mut self, args: &[&str]) -> &Out {
        self.cairn_exits(0, args)
    }

    /// `cairn` with `args`, which must exit with `code`.
    #[track_caller]
    fn cairn_exits(&mut self, code: i32, args: &[&str]) -> &Out {
        let mut all = vec!["-s", self.env.stack];
        all.extend_from_slice(args);
        let mut c = Proj::cmd_in(self.p.path(), &all);
        c.env("CAIRN_PASSPHRASE", PASSPHRASE).env("EPISTEMIX_DB_PASSWORD", &self.password);
        match self.env.developer_ip {
            Some(ip) => c.env("DEVELOPER_IP", ip),
            None => c.env_remove("DEVELOPER_IP"),
        };
        c.env_remove("EPISTEMIX_IMAGE_TAG");
        let output = c.output().expect("run cairn");
        let out = Out {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert_eq!(out.code, code, "cairn {}:\n{out}", all.join(" "));
        assert!(!out.stderr.contains("panicked"), "{out}");
        self.outputs.push(out);
        self.outputs.last().unwrap()
    }
}

/// What one deployed stack is called, and what it is made of.
struct Names {
    project: String,
    app: String,
    stack: &'static str,
    /// `{app}-{stack}`: the VPC, the database, the security groups' prefix.
    base: String,
    account: String,
    path: String,
    out: Value,
}

impl Names {
    fn out(&self, k: &str) -> String {
        self.out[k].as_str().unwrap_or_else(|| panic!("output {k}: {}", self.out)).to_string()
    }
    fn function(&self) -> String {
        format!("{}-api-{}", self.app, self.stack)
    }
    fn function_arn(&self) -> String {
        format!("arn:aws:lambda:us-east-1:{}:function:{}", self.account, self.function())
    }
}

/// The network as the checks find it: the VPC and its private subnets.
struct Net {
    vpc: String,
    private: BTreeSet<String>,
}

/// The three security groups, by their ids.
struct Groups {
    database: String,
    function: String,
    bastion: String,
}

fn deploy_check_destroy(env: &Env) {
    let Some(emu) = emulator() else { return };
    let c = Clients::new(&emu);
    let project = unique("epx");
    let stack = env.stack;
    // Printable ASCII without `/`, `@`, `"` or a space, as RDS takes it; the `!` is the
    // reference's example of a character that needs care in a URL.
    let password = format!("Pw!{}", unique("secret").replace('-', "_"));
    let mut r = Run { p: Proj::example("epistemix", &project), env, password: password.clone(), outputs: Vec::new() };
    let app = project.clone();
    r.cairn(&["config", "set", "App", &app]);
    let path = format!("/{app}/{stack}/database");

    // 2. The repository alone: nothing else is deployed.
    let t = Instant::now();
    r.cairn(&["up", "--target", "Repository", "--yes"]);
    let repo_up = t.elapsed();
    let ids: Vec<String> = r.p.state(stack)["resources"].as_object().expect("resources").keys().cloned().collect();
    assert_eq!(ids, ["Repository.Repository"], "`up --target Repository` deploys the repository only");
    let repo_name = format!("{app}-api-{stack}");

    // 3. The image, pushed as `docker push` does (ECR's PutImage with a manifest).
    emu.put_image(&c.ecr, &repo_name, "latest");

    // 4. Everything.
    let t = Instant::now();
    r.cairn(&["up", "--yes"]);
    let up = t.elapsed();
    eprintln!("{stack}: up --target Repository {repo_up:.1?}, up {up:.1?}");

    let out = r.cairn(&["stack", "output", "--json"]).json();
    for k in OUTPUTS {
        assert!(out[k].is_string(), "output {k} in {out}");
    }
    let repo_uri = out["RepositoryUri"].as_str().unwrap().to_string();
    let account = repo_uri.split('.').next().expect("an account in the repository URI").to_string();
    let n = Names {
        project: project.clone(),
        app: app.clone(),
        stack,
        base: format!("{app}-{stack}"),
        account: account.clone(),
        path: path.clone(),
        out,
    };
    assert_eq!(repo_uri, format!("{account}.dkr.ecr.us-east-1.amazonaws.com/{repo_name}"));
    assert_eq!(n.out("FunctionName"), n.function());
    assert_eq!(n.out("UploadBucketName"), format!("{app}-uploads-{stack}-{account}"));
    assert_eq!(n.out("DbParameterPath"), path);
    let secure = emu
        .block(c.ssm.get_parameter().name(format!("{path}/password")).with_decryption(true).send())
        .expect("GetParameter password");
    assert_eq!(
        secure.parameter().and_then(|p| p.value()),
        Some(password.as_str()),
        "the SecureString holds the password"
    );

    let net = check_network(&emu, &c, &n, env);
    let groups = check_database(&emu, &c, &n, env, &net);
    check_security_groups(&emu, &c, env, &net, &groups);
    let bastion_role = check_bastion(&emu, &c, &n, &net, &groups);
    check_parameters(&emu, &c, &n, &r.p);
    check_repository(&emu, &c, &n, &repo_name);
    let function_role = check_function(&emu, &c, &n, env, &net, &groups);
    check_api(&emu, &c, &n, env);
    check_bucket(&emu, &n, env);

    r.cairn(&["preview", "--expect-no-changes"]);
    // What a user would look at: none of it shows the password.
    r.cairn(&["stack", "output"]);
    r.cairn(&["stack", "export"]);
    r.cairn(&["stack", "history", "--json"]);
    r.cairn(&["config", "ls"]);
    r.cairn(&["preview", "--diff"]);

    if env.protected {
        // Deletion protection: `destroy` is refused as a whole (nothing deleted, the
        // unrelated bucket, repository and function included), naming the database and
        // how to lift its protection.
        let before = r.p.state(stack)["resources"].clone();
        let out = r.cairn_exits(1, &["destroy", "--yes"]).clone();
        assert!(
            out.stderr.contains("error: Database.Instance (AWS::RDS::DBInstance): delete refused: DeletionProtected"),
            "{out}"
        );
        assert!(out.stderr.contains("(`DeletionProtection: true`)"), "{out}");
        assert!(out.stderr.contains("set `DeletionProtection` to false, run `cairn up`"), "{out}");
        assert!(
            out.stderr.contains(
                "destroy refused: 1 resource is protected from deletion in AWS (see above); nothing was changed"
            ),
            "{out}"
        );
        let db = emu.block(c.rds.describe_db_instances().db_instance_identifier(&n.base).send());
        assert_eq!(db.expect("the database is still there").db_instances().len(), 1);
        assert_eq!(r.p.state(stack)["resources"], before, "the state is unchanged");
        check_bucket(&emu, &n, env);
        check_repository(&emu, &c, &n, &repo_name);
        emu.block(c.lambda.get_function().function_name(n.function()).send()).expect("the function is still there");
        r.cairn(&["config", "set", "DBDeletionProtection", "false"]);
        r.cairn(&["up", "--yes"]);
    }
    let t = Instant::now();
    let out = r.cairn(&["destroy", "--yes"]).clone();
    eprintln!("{stack}: destroy {:.1?}", t.elapsed());
    check_final_snapshot(&emu, &c, &n, env, &out);
    assert_eq!(r.p.state(stack)["resources"], json!({}));
    assert_gone(&emu, &c, &n, &net, &groups, &[bastion_role, function_role]);

    // Nothing is left under the path, the SecureString included.
    let left = emu
        .block(c.ssm.get_parameters_by_path().path(format!("/{app}")).recursive(true).send())
        .expect("GetParametersByPath");
    assert!(left.parameters().is_empty(), "parameters remain: {:?}", left.parameters());

    // The stack file still reads the password from the environment (`config set`
    // rewrites it, in block style).
    let stack_file = r.p.read(&format!("stacks/{stack}.yaml"));
    assert!(stack_file.contains("env: EPISTEMIX_DB_PASSWORD"), "{stack_file}");
    assert_password_hidden(&r, &password);
}

/// Under `DeletionPolicy: Snapshot` the database leaves its final snapshot, named on
/// stderr (then deleted here: the emulator is shared); under `Delete`, none.
fn check_final_snapshot(emu: &Emu, c: &Clients, n: &Names, env: &Env, destroy: &Out) {
    let snaps = emu
        .block(c.rds.describe_db_snapshots().db_instance_identifier(&n.base).snapshot_type("manual").send())
        .expect("DescribeDBSnapshots");
    let names: Vec<&str> = snaps.db_snapshots().iter().filter_map(|s| s.db_snapshot_identifier()).collect();
    if !env.final_snapshot {
        assert!(names.is_empty(), "no final snapshot under DeletionPolicy Delete: {names:?}");
        return;
    }
    assert_eq!(names.len(), 1, "one final snapshot: {names:?}");
    let name = names[0].to_string();
    assert!(name.starts_with(&format!("{}-final-", n.base)), "{name}");
    assert!(destroy.stderr.contains(&name), "destroy names the snapshot:\n{destroy}");
    let preview_line = "final snapshot";
    assert!(destroy.stderr.contains(preview_line) || destroy.stdout.contains(preview_line), "{destroy}");
    emu.block(c.rds.delete_db_snapshot().db_snapshot_identifier(&name).send()).expect("DeleteDBSnapshot");
}

/// The stack's tags and cairn's ownership tag are among `tags`.
fn assert_tagged<K: AsRef<str>, V: AsRef<str>>(what: &str, tags: impl IntoIterator<Item = (K, V)>, n: &Names) {
    let tags: BTreeMap<String, String> =
        tags.into_iter().map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string())).collect();
    for (k, v) in [("Application", "epistemix"), ("Environment", n.stack), ("cairn:project", n.project.as_str())] {
        assert_eq!(tags.get(k).map(String::as_str), Some(v), "{what}: tag {k} in {tags:?}");
    }
}

fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> Vec<(String, String)> {
    tags.iter().map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string())).collect()
}

fn ec2_name(tags: &[aws_sdk_ec2::types::Tag]) -> Option<String> {
    tags.iter().find(|t| t.key() == Some("Name")).and_then(|t| t.value()).map(str::to_string)
}

/// The VPC, its subnets in two zones, the internet and NAT gateways and the routes that
/// make two subnets public and two private.
fn check_network(emu: &Emu, c: &Clients, n: &Names, env: &Env) -> Net {
    use aws_sdk_ec2::types::{Filter, VpcAttributeName};
    let vpc_id = n.out("VpcId");
    let vpcs = emu.block(c.ec2.describe_vpcs().vpc_ids(&vpc_id).send()).expect("DescribeVpcs");
    let vpc = &vpcs.vpcs()[0];
    assert_eq!(vpc.cidr_block(), Some(env.cidr));
    assert_eq!(ec2_name(vpc.tags()).as_deref(), Some(n.base.as_str()));
    assert_tagged("VPC", ec2_tags(vpc.tags()), n);
    for attr in [VpcAttributeName::EnableDnsSupport, VpcAttributeName::EnableDnsHostnames] {
        let a = emu
            .block(c.ec2.describe_vpc_attribute().vpc_id(&vpc_id).attribute(attr.clone()).send())
            .expect("DescribeVpcAttribute");
        let on = match attr {
            VpcAttributeName::EnableDnsSupport => a.enable_dns_support().and_then(|v| v.value()),
            _ => a.enable_dns_hostnames().and_then(|v| v.value()),
        };
        assert_eq!(on, Some(true), "{attr:?}");
    }

    let by_vpc = || Filter::builder().name("vpc-id").values(&vpc_id).build();
    let igws = emu
        .block(
            c.ec2
                .describe_internet_gateways()
                .filters(Filter::builder().name("attachment.vpc-id").values(&vpc_id).build())
                .send(),
        )
        .expect("DescribeInternetGateways");
    assert_eq!(igws.internet_gateways().len(), 1, "{:?}", igws.internet_gateways());
    let igw = igws.internet_gateways()[0].internet_gateway_id().expect("an id").to_string();

    let nats = emu.block(c.ec2.describe_nat_gateways().filter(by_vpc()).send()).expect("DescribeNatGateways");
    let nats: Vec<_> =
        nats.nat_gateways().iter().filter(|g| g.state().map(|s| s.as_str()) == Some("available")).collect();
    assert_eq!(nats.len(), 1, "one NAT gateway: {nats:?}");
    let nat = nats[0];
    let nat_id = nat.nat_gateway_id().expect("an id").to_string();
    let eip = nat.nat_gateway_addresses().first().and_then(|a| a.allocation_id()).expect("the NAT gateway's address");
    let addrs = emu.block(c.ec2.describe_addresses().allocation_ids(eip).send()).expect("DescribeAddresses");
    assert_eq!(addrs.addresses()[0].domain().map(|d| d.as_str()), Some("vpc"));

    let subnets = emu.block(c.ec2.describe_subnets().filters(by_vpc()).send()).expect("DescribeSubnets");
    assert_eq!(subnets.subnets().len(), 4, "{:?}", subnets.subnets());
    let tables = emu.block(c.ec2.describe_route_tables().filters(by_vpc()).send()).expect("DescribeRouteTables");
    // Each subnet's table, and where that table sends 0.0.0.0/0.
    let default_route = |subnet: &str| -> (Option<String>, Option<String>) {
        let t = tables
            .route_tables()
            .iter()
            .find(|t| t.associations().iter().any(|a| a.subnet_id() == Some(subnet)))
            .unwrap_or_else(|| panic!("subnet {subnet} has no route table of its own"));
        let r = t
            .routes()
            .iter()
            .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
            .unwrap_or_else(|| panic!("subnet {subnet}: no default route in {:?}", t.routes()));
        (r.gateway_id().map(str::to_string), r.nat_gateway_id().map(str::to_string))
    };
    let mut public = BTreeSet::new();
    let mut private = BTreeSet::new();
    let mut zones: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for s in subnets.subnets() {
        let id = s.subnet_id().expect("an id").to_string();
        let name = ec2_name(s.tags()).unwrap_or_default();
        assert_eq!(s.map_public_ip_on_launch(), Some(false), "{name}: no public addresses");
        let kind = if name.contains("-public-") { "public" } else { "private" };
        zones.entry(s.availability_zone().expect("a zone")).or_default().insert(kind);
        match default_route(&id) {
            (Some(gw), None) if kind == "public" => {
                assert_eq!(gw, igw, "{name} routes to the internet gateway");
                public.insert(id);
            }
            (_, Some(ngw)) if kind == "private" => {
                assert_eq!(ngw, nat_id, "{name} routes to the NAT gateway");
                private.insert(id);
            }
            other => panic!("{name} ({kind}): default route {other:?}"),
        }
    }
    assert_eq!((public.len(), private.len()), (2, 2));
    // Two zones, each with one public and one private subnet.
    assert_eq!(zones.len(), 2, "{zones:?}");
    for kinds in zones.values() {
        assert_eq!(kinds, &BTreeSet::from(["private", "public"]));
    }
    assert!(
        public.contains(nat.subnet_id().expect("the NAT gateway's subnet")),
        "the NAT gateway is in a public subnet"
    );
    Net { vpc: vpc_id, private }
}

/// The database: not publicly accessible, in the private subnets, TLS required. Returns
/// the security groups (the database's, and the two it names).
fn check_database(emu: &Emu, c: &Clients, n: &Names, env: &Env, net: &Net) -> Groups {
    let dbs =
        emu.block(c.rds.describe_db_instances().db_instance_identifier(&n.base).send()).expect("DescribeDBInstances");
    let db = &dbs.db_instances()[0];
    assert_eq!(db.publicly_accessible(), Some(false), "the database is not publicly accessible");
    assert_eq!(db.engine(), Some("postgres"));
    assert!(db.engine_version().is_some_and(|v| v.starts_with("16")), "{:?}", db.engine_version());
    assert_eq!(db.db_instance_class(), Some(env.class));
    assert_eq!(db.storage_encrypted(), Some(true));
    assert_eq!(db.backup_retention_period(), Some(env.backups));
    assert_eq!(db.deletion_protection(), Some(env.protected));
    assert_eq!((db.db_name(), db.master_username()), (Some("epistemixdb"), Some("epistemixuser")));
    let endpoint = db.endpoint().expect("an endpoint");
    assert_eq!(endpoint.address(), Some(n.out("DbEndpoint").as_str()));
    assert_eq!(endpoint.port(), Some(5432));
    let group = db.db_subnet_group().expect("a subnet group");
    assert_eq!(group.vpc_id(), Some(net.vpc.as_str()));
    let subnets: BTreeSet<String> =
        group.subnets().iter().filter_map(|s| s.subnet_identifier()).map(str::to_string).collect();
    assert_eq!(subnets, net.private, "the database is in the private subnets");
    let sgs: Vec<&str> = db.vpc_security_groups().iter().filter_map(|g| g.vpc_security_group_id()).collect();
    assert_eq!(sgs.len(), 1, "{sgs:?}");
    let database = sgs[0].to_string();
    let arn = db.db_instance_arn().expect("an ARN");
    let tags = emu.block(c.rds.list_tags_for_resource().resource_name(arn).send()).expect("ListTagsForResource");
    assert_tagged(
        "database",
        tags.tag_list().iter().map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
        n,
    );

    let pg = db.db_parameter_groups().first().and_then(|g| g.db_parameter_group_name()).expect("a parameter group");
    let params = emu
        .block(c.rds.describe_db_parameters().db_parameter_group_name(pg).source("user").send())
        .expect("DescribeDBParameters");
    let set: BTreeMap<&str, &str> =
        params.parameters().iter().filter_map(|p| Some((p.parameter_name()?, p.parameter_value()?))).collect();
    assert_eq!(set, BTreeMap::from([("rds.force_ssl", "1")]));

    // The other two groups, as the database's group names them (checked exactly later).
    let g = emu.block(c.ec2.describe_security_groups().group_ids(&database).send()).expect("DescribeSecurityGroups");
    let named: BTreeMap<String, String> = g.security_groups()[0]
        .ip_permissions()
        .iter()
        .flat_map(|p| p.user_id_group_pairs())
        .filter_map(|p| p.group_id())
        .map(|id| {
            let sg = emu.block(c.ec2.describe_security_groups().group_ids(id).send()).expect("DescribeSecurityGroups");
            (sg.security_groups()[0].group_name().unwrap_or_default().to_string(), id.to_string())
        })
        .collect();
    let by_name = |suffix: &str| {
        named.get(&format!("{}-{suffix}", n.base)).cloned().unwrap_or_else(|| panic!("no group {suffix} in {named:?}"))
    };
    Groups { function: by_name("lambda"), bastion: by_name("bastion"), database }
}

/// One rule, as the checks compare them: protocol, ports, and the peer (`sg-...` or a CIDR).
type Rule = (String, i32, i32, String);

fn rules(perms: &[aws_sdk_ec2::types::IpPermission]) -> BTreeSet<Rule> {
    let mut out = BTreeSet::new();
    for p in perms {
        let key = |peer: &str| {
            (
                p.ip_protocol().unwrap_or_default().to_string(),
                p.from_port().unwrap_or(-1),
                p.to_port().unwrap_or(-1),
                peer.to_string(),
            )
        };
        for g in p.user_id_group_pairs() {
            out.insert(key(g.group_id().unwrap_or_default()));
        }
        for r in p.ip_ranges() {
            out.insert(key(r.cidr_ip().unwrap_or_default()));
        }
        assert!(p.ipv6_ranges().is_empty() && p.prefix_list_ids().is_empty(), "{p:?}");
    }
    out
}

fn rule(port: i32, peer: &str) -> Rule {
    ("tcp".to_string(), port, port, peer.to_string())
}

/// The rules, exactly as the reference gives them.
fn check_security_groups(emu: &Emu, c: &Clients, env: &Env, net: &Net, g: &Groups) {
    let describe = |id: &str| {
        let out = emu.block(c.ec2.describe_security_groups().group_ids(id).send()).expect("DescribeSecurityGroups");
        out.security_groups()[0].clone()
    };
    let db = describe(&g.database);
    assert_eq!(db.vpc_id(), Some(net.vpc.as_str()));
    let mut want = BTreeSet::from([rule(5432, &g.function), rule(5432, &g.bastion), rule(5432, env.cidr)]);
    if let Some(ip) = env.developer_ip {
        want.insert(rule(5432, ip));
    }
    assert_eq!(rules(db.ip_permissions()), want, "the database's group takes 5432 from these only");

    for (what, id) in [("function", &g.function), ("bastion", &g.bastion)] {
        let sg = describe(id);
        assert_eq!(sg.vpc_id(), Some(net.vpc.as_str()));
        assert_eq!(rules(sg.ip_permissions()), BTreeSet::new(), "the {what}'s group takes nothing in");
        assert_eq!(
            rules(sg.ip_permissions_egress()),
            BTreeSet::from([rule(443, "0.0.0.0/0"), rule(5432, &g.database)]),
            "the {what}'s group sends only HTTPS and PostgreSQL to the database"
        );
    }
}

/// The bastion: t3.nano, no key pair, no public address, in a private subnet, with the
/// SSM profile. Returns its role.
fn check_bastion(emu: &Emu, c: &Clients, n: &Names, net: &Net, g: &Groups) -> String {
    let id = n.out("BastionInstanceId");
    let out = emu.block(c.ec2.describe_instances().instance_ids(&id).send()).expect("DescribeInstances");
    let i = &out.reservations()[0].instances()[0];
    assert_eq!(i.instance_type().map(|t| t.as_str()), Some("t3.nano"));
    assert_eq!(i.key_name(), None, "no key pair");
    assert_eq!(i.public_ip_address(), None, "no public address");
    assert!(net.private.contains(i.subnet_id().expect("a subnet")), "the bastion is in a private subnet");
    let sgs: Vec<&str> = i.security_groups().iter().filter_map(|s| s.group_id()).collect();
    assert_eq!(sgs, [g.bastion.as_str()]);
    assert_tagged("bastion", ec2_tags(i.tags()), n);
    assert_eq!(ec2_name(i.tags()), Some(format!("{}-bastion", n.base)));
    // The latest Amazon Linux 2023, as Parameter Store names it.
    let ami = emu.block(c.ssm.get_parameter().name(AL2023).send()).expect("GetParameter AL2023");
    assert_eq!(i.image_id(), ami.parameter().and_then(|p| p.value()));

    let profile = arn_name(i.iam_instance_profile().and_then(|p| p.arn()).expect("an instance profile"));
    let p =
        emu.block(emu.iam.get_instance_profile().instance_profile_name(&profile).send()).expect("GetInstanceProfile");
    let roles: Vec<&str> =
        p.instance_profile().map(|p| p.roles().iter().map(|r| r.role_name()).collect()).unwrap_or_default();
    assert_eq!(roles.len(), 1, "{roles:?}");
    let role = roles[0].to_string();
    check_role(emu, n, &role, "ec2.amazonaws.com", &["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]);
    let inline = emu.block(emu.iam.list_role_policies().role_name(&role).send()).expect("ListRolePolicies");
    assert!(inline.policy_names().is_empty(), "the bastion's role has no inline policy: {:?}", inline.policy_names());
    role
}

/// A role's trust policy names `service` only, its managed policies are `attached`
/// exactly, and it carries the stack's tags.
fn check_role(emu: &Emu, n: &Names, role: &str, service: &str, attached: &[&str]) {
    let r = emu.block(emu.iam.get_role().role_name(role).send()).expect("GetRole");
    let r = r.role().expect("a role");
    let trust = aws::doc(r.assume_role_policy_document().expect("a trust policy"));
    let statements = trust["Statement"].as_array().cloned().unwrap_or_else(|| vec![trust["Statement"].clone()]);
    assert_eq!(statements.len(), 1, "{trust}");
    assert_eq!(statements[0]["Effect"], "Allow");
    assert_eq!(strings(&statements[0]["Action"]), ["sts:AssumeRole".to_string()].into());
    assert_eq!(strings(&statements[0]["Principal"]["Service"]), [service.to_string()].into());
    assert_tagged(role, r.tags().iter().map(|t| (t.key(), t.value())), n);
    let got = emu.block(emu.iam.list_attached_role_policies().role_name(role).send()).expect("attached");
    let arns: Vec<&str> = got.attached_policies().iter().filter_map(|p| p.policy_arn()).collect();
    assert_eq!(arns, attached, "{role}'s managed policies");
}

/// The connection settings: four String parameters of the stack, and the SecureString.
fn check_parameters(emu: &Emu, c: &Clients, n: &Names, p: &Proj) {
    let got = emu
        .block(c.ssm.get_parameters_by_path().path(&n.path).with_decryption(false).send())
        .expect("GetParametersByPath");
    let params: BTreeMap<String, (String, String)> = got
        .parameters()
        .iter()
        .map(|p| {
            let name = p.name().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_string();
            (
                name,
                (
                    p.r#type().map(|t| t.as_str().to_string()).unwrap_or_default(),
                    p.value().unwrap_or_default().to_string(),
                ),
            )
        })
        .collect();
    let kinds: BTreeMap<&str, &str> = params.iter().map(|(k, (t, _))| (k.as_str(), t.as_str())).collect();
    assert_eq!(
        kinds,
        BTreeMap::from([
            ("host", "String"),
            ("name", "String"),
            ("password", "SecureString"),
            ("port", "String"),
            ("user", "String")
        ])
    );
    assert_eq!(params["host"].1, n.out("DbEndpoint"));
    assert_eq!(params["port"].1, "5432");
    assert_eq!(params["name"].1, "epistemixdb");
    assert_eq!(params["user"].1, "epistemixuser");
    // All five are the stack's; the SecureString from the NoEcho password.
    let state = p.state(n.stack);
    for (id, name) in [("Host", "host"), ("Port", "port"), ("Name", "name"), ("User", "user"), ("Password", "password")]
    {
        let r = &state["resources"][format!("Database.{id}Parameter")];
        assert_eq!(r["physical_id"], json!(format!("{}/{name}", n.path)), "{id}: {r}");
    }
    let listed = emu
        .block(
            c.ssm
                .list_tags_for_resource()
                .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
                .resource_id(format!("{}/host", n.path))
                .send(),
        )
        .expect("ListTagsForResource");
    assert_tagged("host parameter", listed.tag_list().iter().map(|t| (t.key(), t.value())), n);
}

fn check_repository(emu: &Emu, c: &Clients, n: &Names, name: &str) {
    let got = emu.block(c.ecr.describe_repositories().repository_names(name).send()).expect("DescribeRepositories");
    let repo = &got.repositories()[0];
    assert_eq!(repo.repository_uri(), Some(n.out("RepositoryUri").as_str()));
    assert_eq!(repo.image_scanning_configuration().map(|s| s.scan_on_push()), Some(true));
    let policy = emu.block(c.ecr.get_lifecycle_policy().repository_name(name).send()).expect("GetLifecyclePolicy");
    let policy: Value = serde_json::from_str(policy.lifecycle_policy_text().expect("a policy")).expect("JSON");
    let counts: Vec<i64> = policy["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["selection"]["countNumber"].as_i64().unwrap())
        .collect();
    assert_eq!(counts, [1, 10]);
}

/// The function: the image, 3008 MB and 60 s, in the private subnets behind its group, its
/// settings from Parameter Store, its role. Returns the role.
fn check_function(emu: &Emu, c: &Clients, n: &Names, env: &Env, net: &Net, g: &Groups) -> String {
    let got = emu.block(c.lambda.get_function().function_name(n.function()).send()).expect("GetFunction");
    let cfg = got.configuration().expect("a configuration");
    assert_eq!(cfg.function_arn(), Some(n.function_arn().as_str()));
    assert_eq!(cfg.package_type().map(|p| p.as_str()), Some("Image"));
    let image = got.code().and_then(|c| c.image_uri()).expect("an image");
    assert_eq!(image, format!("{}:latest", n.out("RepositoryUri")));
    assert_eq!((cfg.memory_size(), cfg.timeout()), (Some(3008), Some(60)));
    let vpc = cfg.vpc_config().expect("a VPC configuration");
    let subnets: BTreeSet<String> = vpc.subnet_ids().iter().cloned().collect();
    assert_eq!(subnets, net.private, "the function is in the private subnets");
    assert_eq!(vpc.security_group_ids(), std::slice::from_ref(&g.function));
    // The VPC is the private subnets' (checked with the network). moto 5.2.5 reports every
    // function's `VpcConfig.VpcId` as `vpc-123abc` (`LambdaFunction.vpc_config` in
    // `moto/awslambda/models.py`), so it is not compared here.
    let vars: BTreeMap<String, String> = cfg
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let want: BTreeMap<String, String> = [
        ("AWS_LWA_READINESS_CHECK_PATH", "/health"),
        ("DATABASE_PARAMETER_PATH", n.path.as_str()),
        ("ENVIRONMENT", n.stack),
        ("UPLOAD_BUCKET_NAME", n.out("UploadBucketName").as_str()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(vars, want, "the function's environment (no password)");
    assert_tagged("function", got.tags().map(|t| t.iter().collect::<Vec<_>>()).unwrap_or_default(), n);

    let role = arn_name(cfg.role().expect("a role"));
    check_role(
        emu,
        n,
        &role,
        "lambda.amazonaws.com",
        &["arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"],
    );
    let names = emu.block(emu.iam.list_role_policies().role_name(&role).send()).expect("ListRolePolicies");
    assert_eq!(names.policy_names(), ["settings-and-uploads"]);
    let p = emu
        .block(emu.iam.get_role_policy().role_name(&role).policy_name("settings-and-uploads").send())
        .expect("GetRolePolicy");
    let doc = aws::doc(p.policy_document());
    let statements: BTreeMap<String, &Value> = doc["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .map(|s| (s["Sid"].as_str().expect("a Sid").to_string(), s))
        .collect();
    assert_eq!(
        statements.keys().map(String::as_str).collect::<Vec<_>>(),
        ["DatabaseSettings", "ListUploads", "Uploads"]
    );
    let parameter_arn = format!("arn:aws:ssm:us-east-1:{}:parameter{}", n.account, n.path);
    let s = statements["DatabaseSettings"];
    assert_eq!(
        strings(&s["Action"]),
        ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"].map(String::from).into()
    );
    assert_eq!(strings(&s["Resource"]), [parameter_arn.clone(), format!("{parameter_arn}/*")].into());
    let bucket_arn = format!("arn:aws:s3:::{}", n.out("UploadBucketName"));
    let s = statements["Uploads"];
    assert_eq!(strings(&s["Action"]), ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"].map(String::from).into());
    assert_eq!(strings(&s["Resource"]), [format!("{bucket_arn}/*")].into());
    let s = statements["ListUploads"];
    assert_eq!(strings(&s["Action"]), ["s3:ListBucket".to_string()].into());
    assert_eq!(strings(&s["Resource"]), [bucket_arn].into());
    for s in statements.values() {
        assert_eq!(s["Effect"], "Allow");
    }

    let group = format!("/aws/lambda/{}", n.function());
    let groups =
        emu.block(c.logs.describe_log_groups().log_group_name_prefix(&group).send()).expect("DescribeLogGroups");
    let got: Vec<(&str, Option<i32>)> =
        groups.log_groups().iter().map(|g| (g.log_group_name().unwrap_or_default(), g.retention_in_days())).collect();
    assert_eq!(got, [(group.as_str(), Some(env.log_days))]);
    role
}

fn check_api(emu: &Emu, c: &Clients, n: &Names, env: &Env) {
    let apigw = &c.apigw;
    let api = n.out("ApiId");
    assert_eq!(n.out("StageUrl"), format!("https://{api}.execute-api.us-east-1.amazonaws.com/v1"));
    let got = emu.block(apigw.get_rest_api().rest_api_id(&api).send()).expect("GetRestApi");
    assert_eq!(got.name(), Some(n.function().as_str()));
    let types: Vec<&str> =
        got.endpoint_configuration().map(|e| e.types().iter().map(|t| t.as_str()).collect()).unwrap_or_default();
    assert_eq!(types, ["REGIONAL"]);
    assert_tagged("API", got.tags().map(|t| t.iter().collect::<Vec<_>>()).unwrap_or_default(), n);

    let resources = emu.block(apigw.get_resources().rest_api_id(&api).send()).expect("GetResources");
    let by_path: BTreeMap<&str, &aws_sdk_apigateway::types::Resource> =
        resources.items().iter().map(|r| (r.path().unwrap_or_default(), r)).collect();
    assert_eq!(by_path.keys().copied().collect::<Vec<_>>(), ["/", "/{proxy+}"]);
    let uri = format!("arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{}/invocations", n.function_arn());
    for (path, methods) in [("/", vec!["ANY"]), ("/{proxy+}", vec!["ANY", "OPTIONS"])] {
        let r = by_path[path];
        let mut got: Vec<&str> =
            r.resource_methods().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
        got.sort_unstable();
        assert_eq!(got, methods, "{path}'s methods");
        let id = r.id().expect("an id");
        let any = emu
            .block(apigw.get_method().rest_api_id(&api).resource_id(id).http_method("ANY").send())
            .expect("GetMethod ANY");
        assert_eq!(any.authorization_type(), Some("NONE"));
        let i = any.method_integration().expect("an integration");
        assert_eq!(i.r#type().map(|t| t.as_str()), Some("AWS_PROXY"), "{path}");
        assert_eq!(i.http_method(), Some("POST"));
        assert_eq!(i.uri(), Some(uri.as_str()), "{path}");
    }
    // The CORS preflight: API Gateway answers with the environment's origin.
    let proxy = by_path["/{proxy+}"].id().expect("an id");
    let options = emu
        .block(apigw.get_method().rest_api_id(&api).resource_id(proxy).http_method("OPTIONS").send())
        .expect("GetMethod OPTIONS");
    let i = options.method_integration().expect("an integration");
    assert_eq!(i.r#type().map(|t| t.as_str()), Some("MOCK"));
    let response = i.integration_responses().and_then(|r| r.get("200")).expect("the 200 integration response");
    let headers = response.response_parameters().expect("response parameters");
    assert_eq!(
        headers.get("method.response.header.Access-Control-Allow-Origin").map(String::as_str),
        Some(format!("'{}'", env.origin).as_str())
    );

    let stage = emu.block(apigw.get_stage().rest_api_id(&api).stage_name("v1").send()).expect("GetStage v1");
    assert!(stage.deployment_id().is_some(), "the stage has a deployment");
    let settings = stage.method_settings().and_then(|m| m.get("*/*")).expect("the stage's settings for every method");
    assert_eq!(
        (settings.throttling_rate_limit(), settings.throttling_burst_limit()),
        (env.rate, env.burst),
        "throttling"
    );
    assert!(settings.metrics_enabled());

    // API Gateway may invoke the function, from this API only.
    let policy = emu.block(c.lambda.get_policy().function_name(n.function()).send()).expect("GetPolicy");
    let policy: Value = serde_json::from_str(policy.policy().expect("a policy")).expect("a JSON policy");
    let statements = policy["Statement"].as_array().expect("statements");
    assert_eq!(statements.len(), 1, "{policy}");
    let s = &statements[0];
    assert_eq!(s["Action"], "lambda:InvokeFunction");
    assert_eq!(s["Principal"], json!({"Service": "apigateway.amazonaws.com"}));
    assert_eq!(
        s["Condition"],
        json!({"ArnLike": {"AWS:SourceArn": format!("arn:aws:execute-api:us-east-1:{}:{api}/*/*", n.account)}})
    );
}

fn check_bucket(emu: &Emu, n: &Names, env: &Env) {
    let s3 = &emu.s3;
    let name = n.out("UploadBucketName");
    let b = name.as_str();
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
    let origins: Vec<&str> = cors.cors_rules().iter().flat_map(|r| r.allowed_origins()).map(String::as_str).collect();
    assert_eq!(origins, [env.origin]);

    let l =
        emu.block(s3.get_bucket_lifecycle_configuration().bucket(b).send()).expect("GetBucketLifecycleConfiguration");
    let rules: BTreeMap<&str, &aws_sdk_s3::types::LifecycleRule> =
        l.rules().iter().map(|r| (r.id().expect("a rule id"), r)).collect();
    assert_eq!(rules.keys().copied().collect::<Vec<_>>(), ["abort-incomplete-uploads", "expire-uploads"]);
    assert_eq!(rules["expire-uploads"].expiration().and_then(|e| e.days()), Some(env.upload_days));
    assert_eq!(
        rules["abort-incomplete-uploads"].abort_incomplete_multipart_upload().and_then(|a| a.days_after_initiation()),
        Some(1)
    );
    assert_tagged("upload bucket", emu.bucket_tags(b), n);
}

/// Nothing of the stack is left: the VPC and everything in it, the database and its
/// groups, the bastion (terminated), the roles, the repository, the function and its log
/// group, the API, the bucket, the stack's parameters.
fn assert_gone(emu: &Emu, c: &Clients, n: &Names, net: &Net, g: &Groups, roles: &[String]) {
    use aws_sdk_ec2::types::Filter;
    let code = |e: &dyn ProvideErrorMetadata| e.code().unwrap_or_default().to_string();

    let vpcs = emu.block(c.ec2.describe_vpcs().vpc_ids(&net.vpc).send());
    assert_eq!(code(&vpcs.expect_err("the VPC is deleted")), "InvalidVpcID.NotFound");
    let tagged = |key: &str| Filter::builder().name(format!("tag:{key}")).values(&n.project).build();
    let subnets = emu.block(c.ec2.describe_subnets().filters(tagged("cairn:project")).send()).expect("DescribeSubnets");
    assert!(subnets.subnets().is_empty(), "subnets remain: {:?}", subnets.subnets());
    let nats = emu
        .block(c.ec2.describe_nat_gateways().filter(Filter::builder().name("vpc-id").values(&net.vpc).build()).send())
        .expect("DescribeNatGateways");
    for nat in nats.nat_gateways() {
        assert_eq!(nat.state().map(|s| s.as_str()), Some("deleted"), "NAT gateway {:?}", nat.nat_gateway_id());
    }
    let addrs =
        emu.block(c.ec2.describe_addresses().filters(tagged("cairn:project")).send()).expect("DescribeAddresses");
    assert!(addrs.addresses().is_empty(), "Elastic IPs remain: {:?}", addrs.addresses());
    let igws = emu
        .block(c.ec2.describe_internet_gateways().filters(tagged("cairn:project")).send())
        .expect("DescribeInternetGateways");
    assert!(igws.internet_gateways().is_empty(), "internet gateways remain: {:?}", igws.internet_gateways());
    for id in [&g.database, &g.function, &g.bastion] {
        let sg = emu.block(c.ec2.describe_security_groups().group_ids(id).send());
        assert_eq!(code(&sg.expect_err("the group is deleted")), "InvalidGroup.NotFound", "{id}");
    }
    let instances = emu
        .block(c.ec2.describe_instances().instance_ids(n.out("BastionInstanceId")).send())
        .expect("DescribeInstances");
    for i in instances.reservations().iter().flat_map(|r| r.instances()) {
        assert_eq!(i.state().and_then(|s| s.name()).map(|s| s.as_str()), Some("terminated"), "the bastion");
    }

    let db = emu.block(c.rds.describe_db_instances().db_instance_identifier(&n.base).send());
    assert_eq!(code(&db.expect_err("the database is deleted")), "DBInstanceNotFound");
    let group = emu.block(c.rds.describe_db_subnet_groups().db_subnet_group_name(&n.base).send());
    assert_eq!(code(&group.expect_err("the subnet group is deleted")), "DBSubnetGroupNotFoundFault");
    let pgs = emu.block(c.rds.describe_db_parameter_groups().send()).expect("DescribeDBParameterGroups");
    let left: Vec<&str> = pgs
        .db_parameter_groups()
        .iter()
        .filter_map(|g| g.db_parameter_group_name())
        .filter(|g| g.contains(&n.app))
        .collect();
    assert!(left.is_empty(), "parameter groups remain: {left:?}");

    let (all_roles, _, profiles) = emu.iam_names();
    for r in roles {
        assert!(!all_roles.contains(r), "role {r} remains");
    }
    assert!(!profiles.iter().any(|p| p.contains(&n.project)), "instance profiles remain: {profiles:?}");
    assert_eq!(emu.roles_tagged(&n.project), Vec::<String>::new(), "roles tagged cairn:project={} remain", n.project);

    let repo = emu.block(c.ecr.describe_repositories().repository_names(format!("{}-api-{}", n.app, n.stack)).send());
    assert_eq!(code(&repo.expect_err("the repository is deleted")), "RepositoryNotFoundException");
    let f = emu.block(c.lambda.get_function().function_name(n.function()).send());
    assert_eq!(code(&f.expect_err("the function is deleted")), "ResourceNotFoundException");
    let groups = emu
        .block(c.logs.describe_log_groups().log_group_name_prefix(format!("/aws/lambda/{}", n.function())).send())
        .expect("DescribeLogGroups");
    assert!(groups.log_groups().is_empty(), "log groups remain: {:?}", groups.log_groups());
    let apis = emu.block(c.apigw.get_rest_apis().limit(500).send()).expect("GetRestApis");
    let left: Vec<&str> = apis.items().iter().filter_map(|a| a.name()).filter(|a| a.contains(&n.app)).collect();
    assert!(left.is_empty(), "APIs of {} remain: {left:?}", n.app);
    assert!(!emu.bucket_exists(&n.out("UploadBucketName")), "the upload bucket remains");

    let params = emu.block(c.ssm.get_parameters_by_path().path(&n.path).send()).expect("GetParametersByPath");
    assert!(params.parameters().is_empty(), "parameters remain: {:?}", params.parameters());
}

/// The password appears in no command's output and no file of the project (the stack
/// file, the state, its journal and history).
fn assert_password_hidden(r: &Run, password: &str) {
    for out in &r.outputs {
        assert!(!out.stdout.contains(password) && !out.stderr.contains(password), "the password is printed:\n{out}");
    }
    let mut files = Vec::new();
    walk(r.p.path(), &mut files);
    assert!(files.iter().any(|f| f.to_string_lossy().contains(".cairn")), "the state is in the project: {files:?}");
    for f in files {
        let bytes = std::fs::read(&f).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(password), "the password is in {} in plain text", f.display());
    }
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let e = e.expect("entry");
        if e.file_type().expect("file type").is_dir() {
            walk(&e.path(), out);
        } else {
            out.push(e.path());
        }
    }
}
