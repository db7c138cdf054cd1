//! The IAM types against moto: a role, a managed policy and an inline policy on it, and an
//! instance profile holding it.

mod common;

use cairn_aws::iam::{instance_profile::InstanceProfile, managed_policy::ManagedPolicy, policy::Policy, role::Role};
use cairn_aws::policy_doc;
use cairn_core::provider::ResourceType;
use cairn_core::Value;
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
