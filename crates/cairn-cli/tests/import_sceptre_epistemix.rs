//! `cairn import sceptre` on the Epistemix platform as its Sceptre users run it
//! (`tests/fixtures/sceptre-epistemix`: a stack per part of the platform, outputs passed
//! with `!stack_output`, the password and the developer's address from the environment,
//! the bastion's AMI with `!ssm`, a hook, `sceptre_user_data`, `protect`).
//!
//! - `report_and_template`: the report (what was written; what was not, with file:line)
//!   and the root template and stack files, as snapshots; both stacks list.
//! - `deploys_on_the_emulator`: the imported `dev` stack validates and, as the reference's
//!   README deploys it (the repository, an image pushed into it, then everything), `up`
//!   makes the same platform: read back through the SDK (the VPC, the database not public
//!   in the private subnets, the security groups' rules, the bastion's AMI from Parameter
//!   Store, the function's image and VPC placement, the API and its throttling);
//!   `preview --expect-no-changes`; `destroy`, and nothing left.

#[path = "common/aws.rs"]
mod aws;
mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use aws::{emulator, unique, Emu};
use aws_sdk_s3::error::ProvideErrorMetadata;
use common::{Out, Proj};
use serde_json::json;

const AL2023: &str = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sceptre-epistemix")
}

fn import(p: &Proj) -> Out {
    let src = fixture();
    p.run(&["import", "sceptre", src.to_str().expect("utf-8 path"), "--out", "out"])
}

#[test]
fn report_and_template() {
    let mut p = Proj::empty();
    p.replace(fixture().to_str().unwrap(), "[SCEPTRE]");
    let out = import(&p).ok();
    p.snapshot("import_sceptre_epistemix_report", &out);
    let mut files = String::new();
    for f in ["template.yaml", "stacks/dev.yaml", "stacks/staging.yaml"] {
        files.push_str(&format!("=== {f}\n{}", p.read(&format!("out/{f}"))));
    }
    p.snapshot("import_sceptre_epistemix_files", &Out { code: 0, stdout: files, stderr: String::new() });
    let listed = p.run(&["-C", "out", "stack", "ls", "--json"]).ok().json();
    let names: Vec<&str> = listed.as_array().expect("a list").iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(names, ["dev", "staging"], "{listed}");
}

/// SDK clients for what the platform is made of.
struct Clients {
    ec2: aws_sdk_ec2::Client,
    rds: aws_sdk_rds::Client,
    ssm: aws_sdk_ssm::Client,
    ecr: aws_sdk_ecr::Client,
    lambda: aws_sdk_lambda::Client,
    apigw: aws_sdk_apigateway::Client,
}

impl Clients {
    fn new(emu: &Emu) -> Clients {
        let config = &emu.config;
        Clients {
            ec2: aws_sdk_ec2::Client::new(config),
            rds: aws_sdk_rds::Client::new(config),
            ssm: aws_sdk_ssm::Client::new(config),
            ecr: aws_sdk_ecr::Client::new(config),
            lambda: aws_sdk_lambda::Client::new(config),
            apigw: aws_sdk_apigateway::Client::new(config),
        }
    }
}

#[test]
fn deploys_on_the_emulator() {
    let Some(emu) = emulator() else { return };
    let c = Clients::new(&emu);
    let p = Proj::empty();
    import(&p).ok();
    // Every name of the platform is made from `Environment`, which the import made one
    // root parameter (each Sceptre stack passed it): a name of the test's own.
    let environment = unique("sc");
    let password = format!("Pw{}", unique("s").replace('-', "_"));
    let developer_ip = "203.0.113.7/32";
    let env = [
        ("EPISTEMIX_DB_PASSWORD", password.as_str()),
        ("DEVELOPER_IP", developer_ip),
        ("CAIRN_PASSPHRASE", "sceptre epistemix test passphrase"),
    ];
    let cairn = |args: &[&str]| {
        let mut all = vec!["-C", "out", "-s", "dev"];
        all.extend_from_slice(args);
        p.run_env(&all, &env).ok()
    };
    cairn(&["config", "set", "Environment", &environment]);
    cairn(&["validate"]);

    // As the reference's README: the repository, the image, then everything.
    cairn(&["up", "--target", "EpistemixApiEcr", "--yes"]);
    let repo = format!("epistemix-api-{environment}");
    emu.put_image(&c.ecr, &repo, "latest");
    cairn(&["up", "--yes"]);
    let out = cairn(&["stack", "output", "--json"]).json();
    let o = |k: &str| out[k].as_str().unwrap_or_else(|| panic!("output {k} in {out}")).to_string();

    // The network: the VPC, and the private subnets the database, the function and the
    // bastion are in.
    let vpc = o("NetworkVpcId");
    let vpcs = emu.block(c.ec2.describe_vpcs().vpc_ids(&vpc).send()).expect("DescribeVpcs");
    assert_eq!(vpcs.vpcs()[0].cidr_block(), Some("10.10.0.0/16"));
    let private: BTreeSet<String> = [o("NetworkPrivateSubnetA"), o("NetworkPrivateSubnetB")].into();
    let subnets = emu.block(c.ec2.describe_subnets().set_subnet_ids(Some(private.iter().cloned().collect())).send());
    let subnets = subnets.expect("DescribeSubnets");
    let cidrs: BTreeSet<&str> = subnets.subnets().iter().filter_map(|s| s.cidr_block()).collect();
    assert_eq!(cidrs, ["10.10.32.0/20", "10.10.48.0/20"].into());
    assert!(subnets.subnets().iter().all(|s| s.vpc_id() == Some(vpc.as_str())));

    // The security groups' rules.
    let (db_sg, fn_sg, bastion_sg) = (
        o("SecurityGroupsDatabaseSecurityGroupId"),
        o("SecurityGroupsFunctionSecurityGroupId"),
        o("SecurityGroupsBastionSecurityGroupId"),
    );
    let ingress = rules(&emu, &c, &db_sg, true);
    let want: BTreeSet<String> = [
        format!("tcp 5432 from {fn_sg}"),
        format!("tcp 5432 from {bastion_sg}"),
        "tcp 5432 from 10.10.0.0/16".to_string(),
        format!("tcp 5432 from {developer_ip}"),
    ]
    .into();
    assert_eq!(ingress, want, "the database's group takes PostgreSQL from these only");
    for sg in [&fn_sg, &bastion_sg] {
        assert!(rules(&emu, &c, sg, true).is_empty(), "{sg} takes nothing in");
        let want: BTreeSet<String> = ["tcp 443 to 0.0.0.0/0".to_string(), format!("tcp 5432 to {db_sg}")].into();
        assert_eq!(rules(&emu, &c, sg, false), want, "{sg} sends HTTPS and PostgreSQL only");
    }

    // The database: not public, in the private subnets, behind its group.
    let db_id = format!("epistemix-{environment}");
    let dbs =
        emu.block(c.rds.describe_db_instances().db_instance_identifier(&db_id).send()).expect("DescribeDBInstances");
    let db = &dbs.db_instances()[0];
    assert_eq!(db.publicly_accessible(), Some(false));
    assert_eq!(db.db_instance_class(), Some("db.t3.micro"));
    let in_subnets: BTreeSet<String> = db
        .db_subnet_group()
        .map(|g| g.subnets().iter().filter_map(|s| s.subnet_identifier()).map(str::to_string).collect())
        .unwrap_or_default();
    assert_eq!(in_subnets, private);
    let groups: Vec<&str> = db.vpc_security_groups().iter().filter_map(|g| g.vpc_security_group_id()).collect();
    assert_eq!(groups, [db_sg.as_str()]);
    let endpoint = db.endpoint().and_then(|e| e.address()).expect("an endpoint").to_string();
    let host = emu
        .block(c.ssm.get_parameter().name(format!("/epistemix/{environment}/database/host")).send())
        .expect("GetParameter host");
    assert_eq!(host.parameter().and_then(|p| p.value()), Some(endpoint.as_str()));

    // The bastion: the AMI `!ssm` named, read from Parameter Store; a private subnet.
    let ami = emu.block(c.ssm.get_parameter().name(AL2023).send()).expect("GetParameter AL2023");
    let ami = ami.parameter().and_then(|p| p.value()).expect("an AMI id").to_string();
    let instances = emu
        .block(c.ec2.describe_instances().instance_ids(o("SsmBastionInstanceId")).send())
        .expect("DescribeInstances");
    let bastion = &instances.reservations()[0].instances()[0];
    assert_eq!(bastion.image_id(), Some(ami.as_str()));
    assert_eq!(bastion.subnet_id(), Some(o("NetworkPrivateSubnetA").as_str()));
    assert_eq!(bastion.public_ip_address(), None);

    // The function: the pushed image, the private subnets, its group; DATABASE_URL names
    // the database.
    let function = format!("epistemix-api-{environment}");
    let got = emu.block(c.lambda.get_function().function_name(&function).send()).expect("GetFunction");
    let repo_uri = o("EpistemixApiEcrRepositoryUri");
    assert_eq!(got.code().and_then(|c| c.image_uri()), Some(format!("{repo_uri}:latest").as_str()));
    let cfg = got.configuration().expect("a configuration");
    let vpc_cfg = cfg.vpc_config().expect("a VPC configuration");
    let fn_subnets: BTreeSet<String> = vpc_cfg.subnet_ids().iter().cloned().collect();
    assert_eq!(fn_subnets, private);
    assert_eq!(vpc_cfg.security_group_ids(), std::slice::from_ref(&fn_sg));
    let url = cfg.environment().and_then(|e| e.variables()).and_then(|v| v.get("DATABASE_URL")).expect("DATABASE_URL");
    assert_eq!(url, &format!("postgresql://epistemixuser:{password}@{endpoint}:5432/epistemixdb"));

    // The API: every path to the function, the stage `v1` throttled as dev's config says.
    let api = o("ApiGatewayApiId");
    assert_eq!(o("ApiGatewayStageUrl"), format!("https://{api}.execute-api.us-east-1.amazonaws.com/v1"));
    let rest = emu.block(c.apigw.get_rest_api().rest_api_id(&api).send()).expect("GetRestApi");
    assert_eq!(rest.name(), Some(function.as_str()));
    let resources = emu.block(c.apigw.get_resources().rest_api_id(&api).send()).expect("GetResources");
    let proxy = resources.items().iter().find(|r| r.path() == Some("/{proxy+}")).expect("/{proxy+}");
    let method = emu
        .block(c.apigw.get_method().rest_api_id(&api).resource_id(proxy.id().unwrap()).http_method("ANY").send())
        .expect("GetMethod");
    let uri = method.method_integration().and_then(|i| i.uri()).expect("an integration");
    assert!(uri.ends_with(&format!(":function:{function}/invocations")), "{uri}");
    let stage = emu.block(c.apigw.get_stage().rest_api_id(&api).stage_name("v1").send()).expect("GetStage");
    let s = stage.method_settings().and_then(|m| m.get("*/*")).expect("the stage's settings");
    assert_eq!((s.throttling_rate_limit(), s.throttling_burst_limit()), (100.0, 200));

    cairn(&["preview", "--expect-no-changes"]);
    cairn(&["destroy", "--yes"]);
    let state = cairn(&["stack", "export"]).json();
    assert_eq!(state["state"]["resources"], json!({}), "nothing in the state");

    let code = |e: &dyn ProvideErrorMetadata| e.code().unwrap_or_default().to_string();
    let vpcs = emu.block(c.ec2.describe_vpcs().vpc_ids(&vpc).send());
    assert_eq!(code(&vpcs.expect_err("the VPC is deleted")), "InvalidVpcID.NotFound");
    for sg in [&db_sg, &fn_sg, &bastion_sg] {
        let got = emu.block(c.ec2.describe_security_groups().group_ids(sg).send());
        assert_eq!(code(&got.expect_err("the group is deleted")), "InvalidGroup.NotFound", "{sg}");
    }
    let db = emu.block(c.rds.describe_db_instances().db_instance_identifier(&db_id).send());
    assert_eq!(code(&db.expect_err("the database is deleted")), "DBInstanceNotFound");
    let snaps =
        emu.block(c.rds.describe_db_snapshots().db_instance_identifier(&db_id).send()).expect("DescribeDBSnapshots");
    assert!(snaps.db_snapshots().is_empty(), "DeletionPolicy Delete: no snapshot");
    let f = emu.block(c.lambda.get_function().function_name(&function).send());
    assert_eq!(code(&f.expect_err("the function is deleted")), "ResourceNotFoundException");
    let r = emu.block(c.ecr.describe_repositories().repository_names(&repo).send());
    assert_eq!(code(&r.expect_err("the repository is deleted")), "RepositoryNotFoundException");
    let a = emu.block(c.apigw.get_rest_api().rest_api_id(&api).send());
    assert_eq!(code(&a.expect_err("the API is deleted")), "NotFoundException");
    assert!(!emu.bucket_exists(&o("S3UploadBucketBucketName")), "the bucket is deleted");
    let left = emu
        .block(c.ssm.get_parameters_by_path().path(format!("/epistemix/{environment}")).recursive(true).send())
        .expect("GetParametersByPath");
    assert!(left.parameters().is_empty(), "parameters remain: {:?}", left.parameters());
    for i in emu
        .block(c.ec2.describe_instances().instance_ids(o("SsmBastionInstanceId")).send())
        .expect("DescribeInstances")
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
    {
        assert_eq!(i.state().and_then(|s| s.name()).map(|s| s.as_str()), Some("terminated"), "the bastion");
    }
}

/// A group's ingress (`true`) or egress rules as `tcp PORT from|to SOURCE`.
fn rules(emu: &Emu, c: &Clients, group: &str, ingress: bool) -> BTreeSet<String> {
    let got = emu.block(c.ec2.describe_security_groups().group_ids(group).send()).expect("DescribeSecurityGroups");
    let g = &got.security_groups()[0];
    let perms = if ingress { g.ip_permissions() } else { g.ip_permissions_egress() };
    let dir = if ingress { "from" } else { "to" };
    let mut out = BTreeSet::new();
    for p in perms {
        let head = format!("{} {}", p.ip_protocol().unwrap_or_default(), p.from_port().unwrap_or(-1));
        for r in p.ip_ranges() {
            out.insert(format!("{head} {dir} {}", r.cidr_ip().unwrap_or_default()));
        }
        for u in p.user_id_group_pairs() {
            out.insert(format!("{head} {dir} {}", u.group_id().unwrap_or_default()));
        }
    }
    out
}
