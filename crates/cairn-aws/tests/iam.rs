//! The IAM types against moto: a role, a managed policy and an inline policy on it, and an
//! instance profile holding it; lists longer than a page; a managed policy's versions.

mod common;

use aws_sdk_iam::error::ProvideErrorMetadata;
use cairn_aws::iam::{instance_profile::InstanceProfile, managed_policy::ManagedPolicy, policy::Policy, role::Role};
use cairn_aws::policy_doc;
use cairn_core::provider::ResourceType;
use cairn_core::Value;
use cairn_faultproxy::{Config, Fault, Proxy, Rule};
use serde_json::{json, Value as Json};

fn trust(services: &[&str]) -> Json {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": services}, "Action": "sts:AssumeRole"}]})
}

fn s3_doc(actions: &[&str]) -> Json {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "arn:aws:s3:::b/*"}]})
}

#[tokio::test]
async fn iam_types_lifecycle() {
    let Some(aws) = common::aws().await else { return };
    let iam = aws.iam().clone();
    let seed = common::suffix();

    // Role.
    let role_ctx = common::ctx("AWS::IAM::Role", "Access.Role", &seed);
    let role = Role::new(aws.clone());
    let role_props = json!({
        "AssumeRolePolicyDocument": trust(&["ec2.amazonaws.com", "lambda.amazonaws.com"]),
        "Description": "test role",
        "ManagedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"],
        "Policies": [{"PolicyName": "inline", "PolicyDocument": s3_doc(&["s3:GetObject"])}],
        "Tags": [{"Key": "Owner", "Value": "data"}]
    });
    assert!(role.check(&Value::from_json(&role_props)).is_empty());
    let rdata = role.create(&role_ctx, &role_props).await.unwrap();
    let role_name = rdata.physical_id.clone();
    assert_eq!(role_name, format!("dev-Access-Role-{seed}"));
    let live = iam.get_role().role_name(&role_name).send().await.unwrap().role.unwrap();
    assert_eq!(Value::from(live.arn.as_str()), rdata.attributes["Arn"]);
    assert_eq!(live.description.as_deref(), Some("test role"));
    assert!(policy_doc::equivalent(
        &json!(live.assume_role_policy_document.unwrap()),
        &role_props["AssumeRolePolicyDocument"]
    ));
    let attached =
        iam.list_attached_role_policies().role_name(&role_name).send().await.unwrap().attached_policies.unwrap();
    assert_eq!(attached[0].policy_arn.as_deref(), Some("arn:aws:iam::aws:policy/ReadOnlyAccess"));
    let inline = iam.get_role_policy().role_name(&role_name).policy_name("inline").send().await.unwrap();
    assert!(policy_doc::equivalent(&json!(inline.policy_document), &s3_doc(&["s3:GetObject"])));
    let tags = iam.list_role_tags().role_name(&role_name).send().await.unwrap().tags;
    assert!(tags.iter().any(|t| t.key == "cairn:logical-id" && t.value == "Access.Role"));
    assert_eq!(role.read(&role_ctx, &role_name, &role_props).await.unwrap().unwrap().properties, role_props);
    assert_eq!(role.find(&role_ctx, &role_props).await.unwrap(), Some(rdata.clone()));

    let mut role_updated = role_props.clone();
    role_updated["AssumeRolePolicyDocument"] = trust(&["ecs-tasks.amazonaws.com"]);
    role_updated["Description"] = json!("changed");
    role_updated["ManagedPolicyArns"] = json!([]);
    role_updated["Policies"] = json!([{"PolicyName": "inline2", "PolicyDocument": s3_doc(&["s3:PutObject"])}]);
    role.update(&role_ctx, &role_name, &role_props, &role_updated).await.unwrap();
    assert_eq!(role.read(&role_ctx, &role_name, &role_updated).await.unwrap().unwrap().properties, role_updated);
    let mut co = role.schema().create_only.clone();
    co.sort();
    assert_eq!(co, ["Path", "RoleName"]);

    // Managed policy attached to the role.
    let mp_ctx = common::ctx("AWS::IAM::ManagedPolicy", "Access.Policy", &seed);
    let mp = ManagedPolicy::new(aws.clone());
    let mp_props = json!({"PolicyDocument": s3_doc(&["s3:GetObject", "s3:ListBucket"]), "Roles": [role_name]});
    let mdata = mp.create(&mp_ctx, &mp_props).await.unwrap();
    let arn = mdata.physical_id.clone();
    assert_eq!(arn, format!("arn:aws:iam::123456789012:policy/dev-Access-Policy-{seed}"));
    let entities = iam.list_entities_for_policy().policy_arn(&arn).send().await.unwrap();
    assert_eq!(entities.policy_roles.unwrap()[0].role_name.as_deref(), Some(role_name.as_str()));
    assert_eq!(mp.read(&mp_ctx, &arn, &mp_props).await.unwrap().unwrap().properties, mp_props);
    let mp_updated = json!({"PolicyDocument": s3_doc(&["s3:GetObject"]), "Roles": []});
    let after = mp.update(&mp_ctx, &arn, &mp_props, &mp_updated).await.unwrap();
    assert_eq!(after.attributes["DefaultVersionId"], Value::from("v2"));
    let read = mp.read(&mp_ctx, &arn, &mp_updated).await.unwrap().unwrap();
    assert_eq!(read.properties, mp_updated);
    assert!(mp.schema().create_only.contains(&"ManagedPolicyName".to_string()));
    assert_eq!(mp.find(&mp_ctx, &mp_updated).await.unwrap().map(|d| d.physical_id), Some(arn.clone()));

    // Inline policy on the role.
    let p_ctx = common::ctx("AWS::IAM::Policy", "Access.Inline", &seed);
    let p = Policy::new(aws.clone());
    let p_props = json!({"PolicyName": "extra", "PolicyDocument": s3_doc(&["s3:DeleteObject"]), "Roles": [role_name]});
    let pdata = p.create(&p_ctx, &p_props).await.unwrap();
    let got = iam.get_role_policy().role_name(&role_name).policy_name("extra").send().await.unwrap();
    assert!(policy_doc::equivalent(&json!(got.policy_document), &s3_doc(&["s3:DeleteObject"])));
    assert_eq!(p.read(&p_ctx, &pdata.physical_id, &p_props).await.unwrap().unwrap().properties, p_props);
    let p_renamed =
        json!({"PolicyName": "extra2", "PolicyDocument": s3_doc(&["s3:DeleteObject"]), "Roles": [role_name]});
    p.update(&p_ctx, &pdata.physical_id, &p_props, &p_renamed).await.unwrap();
    assert!(iam.get_role_policy().role_name(&role_name).policy_name("extra").send().await.is_err());
    assert_eq!(p.read(&p_ctx, &pdata.physical_id, &p_renamed).await.unwrap().unwrap().properties, p_renamed);
    p.delete(&p_ctx, &pdata.physical_id, &p_renamed).await.unwrap();
    assert_eq!(p.read(&p_ctx, &pdata.physical_id, &p_renamed).await.unwrap(), None);

    // Instance profile holding the role.
    let ip_ctx = common::ctx("AWS::IAM::InstanceProfile", "Access.Profile", &seed);
    let ip = InstanceProfile::new(aws.clone());
    let ip_props = json!({"Roles": [role_name]});
    let idata = ip.create(&ip_ctx, &ip_props).await.unwrap();
    let live = iam
        .get_instance_profile()
        .instance_profile_name(&idata.physical_id)
        .send()
        .await
        .unwrap()
        .instance_profile
        .unwrap();
    assert_eq!(live.roles[0].role_name, role_name);
    assert_eq!(Value::from(live.arn.as_str()), idata.attributes["Arn"]);
    assert_eq!(ip.read(&ip_ctx, &idata.physical_id, &ip_props).await.unwrap().unwrap().properties, ip_props);
    assert!(ip.find(&ip_ctx, &ip_props).await.unwrap().is_some());
    let mut co = ip.schema().create_only.clone();
    co.sort();
    assert_eq!(co, ["InstanceProfileName", "Path"]);

    // Delete in reverse dependency order; each delete is idempotent and leaves nothing.
    ip.delete(&ip_ctx, &idata.physical_id, &ip_props).await.unwrap();
    assert_eq!(ip.read(&ip_ctx, &idata.physical_id, &ip_props).await.unwrap(), None);
    ip.delete(&ip_ctx, &idata.physical_id, &ip_props).await.unwrap();
    mp.delete(&mp_ctx, &arn, &mp_updated).await.unwrap();
    assert_eq!(mp.read(&mp_ctx, &arn, &mp_updated).await.unwrap(), None);
    mp.delete(&mp_ctx, &arn, &mp_updated).await.unwrap();
    // The role still has its own inline policy: delete removes it first.
    role.delete(&role_ctx, &role_name, &role_updated).await.unwrap();
    assert!(iam.get_role().role_name(&role_name).send().await.is_err());
    assert_eq!(role.read(&role_ctx, &role_name, &role_updated).await.unwrap(), None);
    role.delete(&role_ctx, &role_name, &role_updated).await.unwrap();
    assert_eq!(role.find(&role_ctx, &role_props).await.unwrap(), None);
}

/// A ListRolePolicies page as IAM answers it: `names`, and a marker when more follow.
fn role_policies_page(names: &[String], next: Option<&str>) -> Fault {
    let members: String = names.iter().map(|n| format!("<member>{n}</member>")).collect();
    let more = match next {
        Some(marker) => format!("<IsTruncated>true</IsTruncated><Marker>{marker}</Marker>"),
        None => "<IsTruncated>false</IsTruncated>".to_string(),
    };
    Fault::Raw {
        status: 200,
        content_type: Some("text/xml".into()),
        body: format!(
            r#"<ListRolePoliciesResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListRolePoliciesResult><PolicyNames>{members}</PolicyNames>{more}</ListRolePoliciesResult><ResponseMetadata><RequestId>pages</RequestId></ResponseMetadata></ListRolePoliciesResponse>"#
        ),
    }
}

/// A role with more than a page (IAM's default: 100) of inline policies and of attached
/// managed policies: `read` lists all of them and `delete` deletes the role.
///
/// moto pages ListAttachedRolePolicies as IAM does (asserted below), so the attached
/// policies test cairn's paging against the emulator itself. moto 5.2.5 answers
/// ListRolePolicies with every name in one page whatever `MaxItems` says
/// (`moto/iam/responses.py`: `IsTruncated` is always false), so the inline policies are
/// listed through a fault proxy that answers ListRolePolicies with IAM's two pages (100
/// names and a marker, then the last 5); every other call reaches the emulator. A cairn that
/// stopped at the first page would read 100 of each, leave 5 of each on the role, and IAM
/// (and moto) would refuse DeleteRole with DeleteConflict.
#[tokio::test]
async fn a_role_with_more_than_a_page_of_policies_reads_and_deletes() {
    let Some(direct) = common::aws().await else { return };
    let iam = direct.iam();
    let seed = common::suffix();
    let ctx = common::ctx("AWS::IAM::Role", "Many", &seed);
    let props = json!({"AssumeRolePolicyDocument": trust(&["ec2.amazonaws.com"])});
    let name = Role::new(direct.clone()).create(&ctx, &props).await.unwrap().physical_id;

    let doc = serde_json::to_string(&s3_doc(&["s3:GetObject"])).unwrap();
    let inline: Vec<String> = (0..105).map(|i| format!("inline-{i:03}")).collect();
    for policy in &inline {
        iam.put_role_policy().role_name(&name).policy_name(policy).policy_document(&doc).send().await.unwrap();
    }
    let mut arns: Vec<String> = Vec::new();
    for i in 0..105 {
        let out = iam.create_policy().policy_name(format!("{name}-{i:03}")).policy_document(&doc).send().await.unwrap();
        let arn = out.policy.unwrap().arn.unwrap();
        iam.attach_role_policy().role_name(&name).policy_arn(&arn).send().await.unwrap();
        arns.push(arn);
    }
    // The emulator pages attached policies: the test can fail.
    let first = iam.list_attached_role_policies().role_name(&name).send().await.unwrap();
    assert!(first.is_truncated && first.attached_policies().len() == 100, "moto no longer pages at 100");

    let mut config = Config::new(&std::env::var("AWS_ENDPOINT_URL").unwrap());
    config.rules = vec![
        Rule::new("ListRolePolicies", 1, role_policies_page(&inline[..100], Some("page-2"))),
        Rule::new("ListRolePolicies", 1, role_policies_page(&inline[100..], None)),
    ];
    let proxy = Proxy::start(config).expect("fault proxy");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(proxy.url())
        .load()
        .await;
    let role = Role::new(cairn_aws::Aws::from_config(sdk));

    let live = role.read(&ctx, &name, &props).await.unwrap().expect("the role reads").properties;
    let read: Vec<String> =
        live["Policies"].as_array().unwrap().iter().map(|p| p["PolicyName"].as_str().unwrap().to_string()).collect();
    let missing: Vec<&String> = inline.iter().filter(|n| !read.contains(n)).collect();
    assert!(
        read.len() == inline.len() && missing.is_empty(),
        "read {} inline policies, missing {missing:?}",
        read.len()
    );
    let read: Vec<String> = serde_json::from_value(live["ManagedPolicyArns"].clone()).expect("a list of ARNs");
    let missing: Vec<&String> = arns.iter().filter(|a| !read.contains(a)).collect();
    assert!(
        read.len() == arns.len() && missing.is_empty(),
        "read {} attached policies, missing {missing:?}",
        read.len()
    );
    assert_eq!(proxy.counts().by_operation["ListRolePolicies"]["refused"], 2, "both pages were asked for");

    proxy.add_rule(Rule::new("ListRolePolicies", 1, role_policies_page(&inline[..100], Some("page-2"))));
    proxy.add_rule(Rule::new("ListRolePolicies", 1, role_policies_page(&inline[100..], None)));
    role.delete(&ctx, &name, &props).await.unwrap();
    let gone = iam.get_role().role_name(&name).send().await.unwrap_err();
    assert_eq!(gone.code(), Some("NoSuchEntity"), "{gone:?}");
    assert_eq!(proxy.counts().by_operation["ListRolePolicies"]["refused"], 4);
    for arn in &arns {
        let p = iam.get_policy().policy_arn(arn).send().await.unwrap().policy.unwrap();
        assert_eq!(p.attachment_count, Some(0), "{arn} is still attached");
        iam.delete_policy().policy_arn(arn).send().await.unwrap();
    }
}

/// A managed policy keeps at most five versions: each new document deletes the oldest
/// non-default version first, and the new one is the default.
#[tokio::test]
async fn a_managed_policy_changed_often_keeps_five_versions() {
    let Some(aws) = common::aws().await else { return };
    let iam = aws.iam();
    let seed = common::suffix();
    let ctx = common::ctx("AWS::IAM::ManagedPolicy", "Often", &seed);
    let mp = ManagedPolicy::new(aws.clone());
    let actions = ["s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:DeleteObject", "s3:GetBucketTagging"];
    let props = |i: usize| json!({"PolicyDocument": s3_doc(&[actions[i % actions.len()]]), "Description": "often"});
    let arn = mp.create(&ctx, &props(0)).await.unwrap().physical_id;
    for i in 1..8 {
        let after = mp.update(&ctx, &arn, &props(i - 1), &props(i)).await.unwrap();
        assert_eq!(after.attributes["DefaultVersionId"], Value::from(format!("v{}", i + 1)));
        let versions = iam.list_policy_versions().policy_arn(&arn).send().await.unwrap().versions.unwrap();
        let mut ids: Vec<String> = versions.iter().filter_map(|v| v.version_id.clone()).collect();
        ids.sort_by_key(|v| v[1..].parse::<u32>().unwrap());
        let newest: Vec<String> = (i.saturating_sub(4)..=i).map(|n| format!("v{}", n + 1)).collect();
        assert_eq!(ids, newest, "after update {i}");
        assert_eq!(mp.read(&ctx, &arn, &props(i)).await.unwrap().unwrap().properties, props(i));
    }
    mp.delete(&ctx, &arn, &props(7)).await.unwrap();
    let gone = iam.get_policy().policy_arn(&arn).send().await.unwrap_err();
    assert_eq!(gone.code(), Some("NoSuchEntity"));
}
