//! The vendored CloudFormation registry schemas (`schemas/*.json`, see `schemas/SOURCE.md`)
//! turned into the engine's [`TypeSchema`].
//!
//! - properties: the schema's top-level properties minus the read-only ones, each with its
//!   JSON type (a `$ref` is resolved to the definition's type; several types or none give
//!   `""`, any);
//! - `required` (top level);
//! - `createOnlyProperties`, `writeOnlyProperties`, `readOnlyProperties` and
//!   `primaryIdentifier`, top-level and nested, as paths in `TypeSchema`'s syntax
//!   (`/properties/A/*/C` gives `A[*].C`, see `cairn_core::schema`);
//! - attributes: the top-level `readOnlyProperties` (the `Fn::GetAtt` names);
//! - the tagging metadata: `tagging.taggable` (default: the schema has `Tags`),
//!   `tagOnCreate` and `tagUpdatable` (default: taggable), `tagProperty`;
//! - at any depth, through [`walk`]: `unordered_lists` (the arrays marked
//!   `insertionOrder: false`), `default`s, `enum`s and `pattern`s by path. Where
//!   alternatives (`oneOf`/`anyOf`) give one path several enums, their union is kept; several
//!   different patterns, none (cairn cannot tell which applies).
//!
//! Facts about nested properties come from [`walk`], which visits every property
//! definition with its path in `TypeSchema`'s syntax (`LifecycleConfiguration.Rules`,
//! `Policies[*].PolicyDocument`), through `properties`, `items`, `$ref`s into `definitions`
//! and `oneOf`/`anyOf`/`allOf` alternatives.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use cairn_core::provider::TypeSchema;
use cairn_core::schema;

pub const S3_BUCKET: &str = include_str!("../schemas/aws-s3-bucket.json");
pub const S3_BUCKET_POLICY: &str = include_str!("../schemas/aws-s3-bucketpolicy.json");
pub const IAM_ROLE: &str = include_str!("../schemas/aws-iam-role.json");
pub const IAM_MANAGED_POLICY: &str = include_str!("../schemas/aws-iam-managedpolicy.json");
pub const IAM_POLICY: &str = include_str!("../schemas/aws-iam-policy.json");
pub const IAM_INSTANCE_PROFILE: &str = include_str!("../schemas/aws-iam-instanceprofile.json");
pub const SQS_QUEUE: &str = include_str!("../schemas/aws-sqs-queue.json");
pub const SNS_TOPIC: &str = include_str!("../schemas/aws-sns-topic.json");
pub const DYNAMODB_TABLE: &str = include_str!("../schemas/aws-dynamodb-table.json");
pub const CLOUDWATCH_ALARM: &str = include_str!("../schemas/aws-cloudwatch-alarm.json");
pub const CLOUDWATCH_DASHBOARD: &str = include_str!("../schemas/aws-cloudwatch-dashboard.json");
pub const SCHEDULER_SCHEDULE_GROUP: &str = include_str!("../schemas/aws-scheduler-schedulegroup.json");
pub const SCHEDULER_SCHEDULE: &str = include_str!("../schemas/aws-scheduler-schedule.json");
pub const IAM_ROLE_POLICY: &str = include_str!("../schemas/aws-iam-rolepolicy.json");
pub const LOGS_LOG_GROUP: &str = include_str!("../schemas/aws-logs-loggroup.json");
pub const LAMBDA_FUNCTION: &str = include_str!("../schemas/aws-lambda-function.json");
pub const LAMBDA_PERMISSION: &str = include_str!("../schemas/aws-lambda-permission.json");
pub const COGNITO_USER_POOL: &str = include_str!("../schemas/aws-cognito-userpool.json");
pub const COGNITO_USER_POOL_CLIENT: &str = include_str!("../schemas/aws-cognito-userpoolclient.json");
// Vendored ahead of the types that will use them (loaded by the tests): issue 10's.
pub const EC2_VPC: &str = include_str!("../schemas/aws-ec2-vpc.json");
pub const EC2_SUBNET: &str = include_str!("../schemas/aws-ec2-subnet.json");
pub const EC2_SECURITY_GROUP: &str = include_str!("../schemas/aws-ec2-securitygroup.json");
pub const RDS_DB_INSTANCE: &str = include_str!("../schemas/aws-rds-dbinstance.json");
pub const ECR_REPOSITORY: &str = include_str!("../schemas/aws-ecr-repository.json");
pub const APIGATEWAYV2_API: &str = include_str!("../schemas/aws-apigatewayv2-api.json");
pub const APIGATEWAYV2_INTEGRATION: &str = include_str!("../schemas/aws-apigatewayv2-integration.json");
pub const APIGATEWAYV2_AUTHORIZER: &str = include_str!("../schemas/aws-apigatewayv2-authorizer.json");
pub const APIGATEWAYV2_ROUTE: &str = include_str!("../schemas/aws-apigatewayv2-route.json");
pub const APIGATEWAYV2_STAGE: &str = include_str!("../schemas/aws-apigatewayv2-stage.json");
pub const EC2_INTERNET_GATEWAY: &str = include_str!("../schemas/aws-ec2-internetgateway.json");
pub const EC2_VPC_GATEWAY_ATTACHMENT: &str = include_str!("../schemas/aws-ec2-vpcgatewayattachment.json");
pub const EC2_EIP: &str = include_str!("../schemas/aws-ec2-eip.json");
pub const EC2_NAT_GATEWAY: &str = include_str!("../schemas/aws-ec2-natgateway.json");
pub const EC2_ROUTE_TABLE: &str = include_str!("../schemas/aws-ec2-routetable.json");
pub const EC2_ROUTE: &str = include_str!("../schemas/aws-ec2-route.json");
pub const EC2_SUBNET_ROUTE_TABLE_ASSOCIATION: &str =
    include_str!("../schemas/aws-ec2-subnetroutetableassociation.json");
pub const EC2_SECURITY_GROUP_INGRESS: &str = include_str!("../schemas/aws-ec2-securitygroupingress.json");
pub const EC2_SECURITY_GROUP_EGRESS: &str = include_str!("../schemas/aws-ec2-securitygroupegress.json");
pub const EC2_INSTANCE: &str = include_str!("../schemas/aws-ec2-instance.json");
pub const RDS_DB_SUBNET_GROUP: &str = include_str!("../schemas/aws-rds-dbsubnetgroup.json");
pub const RDS_DB_PARAMETER_GROUP: &str = include_str!("../schemas/aws-rds-dbparametergroup.json");
pub const SSM_PARAMETER: &str = include_str!("../schemas/aws-ssm-parameter.json");
pub const APIGATEWAY_REST_API: &str = include_str!("../schemas/aws-apigateway-restapi.json");
pub const APIGATEWAY_RESOURCE: &str = include_str!("../schemas/aws-apigateway-resource.json");
pub const APIGATEWAY_METHOD: &str = include_str!("../schemas/aws-apigateway-method.json");
pub const APIGATEWAY_DEPLOYMENT: &str = include_str!("../schemas/aws-apigateway-deployment.json");
pub const APIGATEWAY_STAGE: &str = include_str!("../schemas/aws-apigateway-stage.json");
pub const APIGATEWAY_ACCOUNT: &str = include_str!("../schemas/aws-apigateway-account.json");
// Issue 11's (edge and multi-region).
pub const CLOUDFRONT_DISTRIBUTION: &str = include_str!("../schemas/aws-cloudfront-distribution.json");
pub const CLOUDFRONT_ORIGIN_ACCESS_CONTROL: &str = include_str!("../schemas/aws-cloudfront-originaccesscontrol.json");
pub const ACM_CERTIFICATE: &str = include_str!("../schemas/aws-certificatemanager-certificate.json");
pub const ROUTE53_HOSTED_ZONE: &str = include_str!("../schemas/aws-route53-hostedzone.json");
pub const ROUTE53_RECORD_SET: &str = include_str!("../schemas/aws-route53-recordset.json");
pub const DSQL_CLUSTER: &str = include_str!("../schemas/aws-dsql-cluster.json");
pub const KMS_KEY: &str = include_str!("../schemas/aws-kms-key.json");
pub const KMS_ALIAS: &str = include_str!("../schemas/aws-kms-alias.json");
pub const IAM_OIDC_PROVIDER: &str = include_str!("../schemas/aws-iam-oidcprovider.json");
/// cairn's own type, in the registry-schema format (`schemas/SOURCE.md`).
pub const CAIRN_DSQL_CLUSTER_PEERING: &str = include_str!("../schemas/cairn-dsql-clusterpeering.json");

/// `schema` with `Fn::GetAtt` attributes that the CloudFormation documentation lists but
/// the registry schema does not mark read-only (`QueueName` of a queue, `TopicName` of a
/// topic). The type's `create` and `read` return them like the others.
pub fn with_attributes(mut schema: TypeSchema, names: &[&str]) -> TypeSchema {
    for n in names {
        if !schema.attributes.iter().any(|a| a == n) {
            schema.attributes.push(n.to_string());
        }
    }
    schema
}

/// Build a [`TypeSchema`] from a registry schema's text. Panics if the vendored text is not
/// a registry schema (the tests load every vendored file).
pub fn load(text: &str, name_property: Option<&str>, volatile_attributes: &[&str]) -> TypeSchema {
    let schema: Json = serde_json::from_str(text).expect("vendored CloudFormation schema is valid JSON");
    let type_name = schema["typeName"].as_str().expect("schema has a typeName").to_string();
    let paths = |key: &str| -> Vec<String> {
        schema[key]
            .as_array()
            .map(|items| items.iter().filter_map(Json::as_str).filter_map(schema::from_pointer).collect())
            .unwrap_or_default()
    };
    let read_only = paths("readOnlyProperties");
    let attributes: Vec<String> = read_only.iter().filter(|p| !schema::is_nested(p)).cloned().collect();
    let props = schema["properties"].as_object().expect("schema has properties");
    let properties = props
        .iter()
        .filter(|(name, _)| !attributes.contains(name))
        .map(|(name, def)| (name.clone(), json_type(&schema, def)))
        .collect();
    let tagging = &schema["tagging"];
    let taggable = tagging["taggable"].as_bool().unwrap_or_else(|| props.contains_key("Tags"));
    let tag_property = match tagging["tagProperty"].as_str() {
        Some(p) => schema::from_pointer(p),
        None if taggable && props.contains_key("Tags") => Some("Tags".to_string()),
        None => None,
    };
    let mut unordered_lists = Vec::new();
    let mut defaults = BTreeMap::new();
    let mut enums: BTreeMap<String, Vec<Json>> = BTreeMap::new();
    let mut patterns: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut scalar_types: BTreeMap<String, &'static str> = BTreeMap::new();
    walk(&schema, &mut |p| {
        if let t @ ("string" | "integer" | "number" | "boolean") = json_type(&schema, p.node) {
            scalar_types.entry(p.path.to_string()).or_insert(t);
        }
        if p.get("insertionOrder") == Some(&Json::Bool(false)) {
            unordered_lists.push(p.path.to_string());
        }
        if let Some(d) = p.get("default") {
            defaults.entry(p.path.to_string()).or_insert_with(|| d.clone());
        }
        if let Some(Json::Array(values)) = p.get("enum") {
            let known = enums.entry(p.path.to_string()).or_default();
            for v in values {
                if !known.contains(v) {
                    known.push(v.clone());
                }
            }
        }
        if let Some(Json::String(pattern)) = p.get("pattern") {
            patterns.entry(p.path.to_string()).or_default().insert(pattern.clone());
        }
    });
    unordered_lists.sort();
    unordered_lists.dedup();
    TypeSchema {
        type_name,
        properties,
        required: schema["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Json::as_str).map(str::to_string).collect())
            .unwrap_or_default(),
        create_only: paths("createOnlyProperties"),
        write_only: paths("writeOnlyProperties"),
        read_only,
        attributes,
        primary_identifier: paths("primaryIdentifier"),
        name_property: name_property.map(str::to_string),
        deletion_protection: None,
        final_snapshot: false,
        assets: Vec::new(),
        refused_attributes: Vec::new(),
        taggable,
        tag_on_create: tagging["tagOnCreate"].as_bool().unwrap_or(taggable),
        tag_updatable: tagging["tagUpdatable"].as_bool().unwrap_or(taggable),
        tag_property,
        volatile_attributes: volatile_attributes.iter().map(|s| s.to_string()).collect(),
        unordered_lists,
        defaults,
        enums,
        patterns: patterns
            .into_iter()
            .filter(|(_, p)| p.len() == 1)
            .filter_map(|(path, p)| p.into_iter().next().map(|p| (path, p)))
            .collect(),
        scalar_types,
    }
}

/// One property definition met by [`walk`].
pub struct Property<'a> {
    /// `A.B`, `A[*].C`: property names from the top level, `[*]` for a list's elements.
    pub path: &'a str,
    /// The definition as written where the property is declared.
    pub node: &'a Json,
    /// The definition with its `$ref` followed (`node` itself when there is none).
    pub def: &'a Json,
}

impl Property<'_> {
    /// A keyword of the definition: where it is declared first, then the referenced one.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.node.get(key).or_else(|| self.def.get(key))
    }
}

/// Visit every property definition of a registry schema, parents before children. A
/// definition that refers to itself (directly or through others) is entered once per path.
pub fn walk(schema: &Json, visit: &mut dyn FnMut(&Property)) {
    let Some(props) = schema["properties"].as_object() else { return };
    let mut expanding = Vec::new();
    for (name, node) in props {
        walk_node(schema, name, node, &mut expanding, visit);
    }
}

fn walk_node<'a>(
    schema: &'a Json,
    path: &str,
    node: &'a Json,
    expanding: &mut Vec<&'a str>,
    visit: &mut dyn FnMut(&Property),
) {
    let (def, name) = resolve(schema, node);
    if let Some(name) = name {
        if expanding.contains(&name) {
            return;
        }
        expanding.push(name);
    }
    visit(&Property { path, node, def });
    walk_children(schema, path, node, expanding, visit);
    if !std::ptr::eq(node, def) {
        walk_children(schema, path, def, expanding, visit);
    }
    if name.is_some() {
        expanding.pop();
    }
}

/// The properties, list items and alternatives of one definition.
fn walk_children<'a>(
    schema: &'a Json,
    path: &str,
    def: &'a Json,
    expanding: &mut Vec<&'a str>,
    visit: &mut dyn FnMut(&Property),
) {
    if let Some(items) = def.get("items") {
        walk_node(schema, &format!("{path}[*]"), items, expanding, visit);
    }
    if let Some(props) = def.get("properties").and_then(Json::as_object) {
        for (name, node) in props {
            walk_node(schema, &format!("{path}.{name}"), node, expanding, visit);
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        for alt in def.get(key).and_then(Json::as_array).into_iter().flatten() {
            let (alt, name) = resolve(schema, alt);
            if let Some(name) = name {
                if expanding.contains(&name) {
                    continue;
                }
                expanding.push(name);
            }
            walk_children(schema, path, alt, expanding, visit);
            if name.is_some() {
                expanding.pop();
            }
        }
    }
}

/// A definition with its `$ref` into `definitions` followed (and the definition's name).
fn resolve<'a>(schema: &'a Json, node: &'a Json) -> (&'a Json, Option<&'a str>) {
    match node.get("$ref").and_then(Json::as_str).and_then(|r| r.strip_prefix("#/definitions/")) {
        Some(name) => match schema["definitions"].get(name) {
            Some(def) => (def, Some(name)),
            None => (node, None),
        },
        None => (node, None),
    }
}

/// The JSON type of a property definition, following one `$ref` into `definitions`.
fn json_type(schema: &Json, def: &Json) -> &'static str {
    let def = match def.get("$ref").and_then(Json::as_str).and_then(|r| r.strip_prefix("#/definitions/")) {
        Some(name) => &schema["definitions"][name],
        None => def,
    };
    match def.get("type") {
        Some(Json::String(t)) => match t.as_str() {
            "string" => "string",
            "integer" => "integer",
            "number" => "number",
            "boolean" => "boolean",
            "array" => "array",
            "object" => "object",
            _ => "",
        },
        // Several types (`["object", "string"]` for policy documents) or none: any.
        _ => {
            if def.get("properties").is_some() {
                "object"
            } else {
                ""
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_schema_facts() {
        let s = load(S3_BUCKET, Some("BucketName"), &[]);
        assert_eq!(s.type_name, "AWS::S3::Bucket");
        assert_eq!(s.properties["BucketName"], "string");
        assert_eq!(s.properties["VersioningConfiguration"], "object");
        assert_eq!(s.properties["LifecycleConfiguration"], "object");
        assert_eq!(s.properties["Tags"], "array");
        assert!(!s.properties.contains_key("Arn"));
        assert!(s.create_only.contains(&"BucketName".to_string()));
        assert!(s.write_only.contains(&"AccessControl".to_string()));
        assert!(s.taggable);
        assert!(s.required.is_empty());
        for a in ["Arn", "DomainName", "DualStackDomainName", "RegionalDomainName", "WebsiteURL"] {
            assert!(s.attributes.contains(&a.to_string()), "{a}");
        }
        // Nested read-only properties are not top-level attributes.
        assert!(s.attributes.iter().all(|a| !a.contains('/')));
        // `insertionOrder: false` at any depth, through `items` and `$ref`s.
        assert_eq!(
            s.unordered_lists,
            [
                "NotificationConfiguration.LambdaConfigurations[*].Filter.S3Key.Rules",
                "NotificationConfiguration.QueueConfigurations[*].Filter.S3Key.Rules",
                "NotificationConfiguration.TopicConfigurations[*].Filter.S3Key.Rules",
                "Tags",
            ]
        );
    }

    #[test]
    fn walk_follows_items_refs_and_alternatives_and_stops_at_recursion() {
        let schema = serde_json::json!({
            "typeName": "Test::Walk::Thing",
            "definitions": {
                "Node": {"type": "object", "properties": {
                    "Name": {"type": "string"},
                    "Children": {"type": "array", "insertionOrder": false, "items": {"$ref": "#/definitions/Node"}}
                }},
                "Either": {"oneOf": [{"$ref": "#/definitions/Leaf"}, {"$ref": "#/definitions/Either"}]},
                "Leaf": {"type": "object", "properties": {"Values": {"type": "array", "insertionOrder": false}}}
            },
            "properties": {
                "Root": {"$ref": "#/definitions/Node"},
                "Choice": {"$ref": "#/definitions/Either"},
                "Plain": {"type": "array", "insertionOrder": true, "items": {"type": "string"}}
            }
        });
        let mut paths = Vec::new();
        walk(&schema, &mut |p| paths.push(p.path.to_string()));
        paths.sort();
        assert_eq!(
            paths,
            [
                "Choice",
                "Choice.Values",
                "Plain",
                "Plain[*]",
                "Root",
                "Root.Children",
                // `Root.Children[*]` is a `Node` again: not entered twice.
                "Root.Name",
            ]
        );
        let s = load(&schema.to_string(), None, &[]);
        assert_eq!(s.unordered_lists, ["Choice.Values", "Root.Children"]);
    }

    #[test]
    fn iam_schema_facts() {
        let role = load(IAM_ROLE, Some("RoleName"), &[]);
        assert_eq!(role.required, ["AssumeRolePolicyDocument"]);
        assert_eq!(role.properties["AssumeRolePolicyDocument"], "");
        assert_eq!(role.properties["MaxSessionDuration"], "integer");
        let mut co = role.create_only.clone();
        co.sort();
        assert_eq!(co, ["Path", "RoleName"]);
        assert_eq!(role.attributes, ["Arn", "RoleId"]);
        assert!(role.taggable);

        assert_eq!(role.unordered_lists, ["ManagedPolicyArns", "Policies", "Tags"]);

        let mp = load(IAM_MANAGED_POLICY, Some("ManagedPolicyName"), &[]);
        assert_eq!(mp.unordered_lists, ["Groups", "Roles", "Users"]);
        assert!(mp.attributes.contains(&"PolicyArn".to_string()));
        assert!(mp.create_only.contains(&"Description".to_string()));
        assert!(!mp.taggable);
        assert_eq!(mp.required, ["PolicyDocument"]);

        let p = load(IAM_POLICY, None, &[]);
        assert_eq!(p.attributes, ["Id"]);
        assert!(p.create_only.is_empty());
        let mut req = p.required.clone();
        req.sort();
        assert_eq!(req, ["PolicyDocument", "PolicyName"]);

        let ip = load(IAM_INSTANCE_PROFILE, Some("InstanceProfileName"), &[]);
        assert_eq!(ip.attributes, ["Arn"]);
        assert_eq!(ip.required, ["Roles"]);
        assert!(!ip.taggable);

        let rp = load(IAM_ROLE_POLICY, Some("PolicyName"), &[]);
        let mut co = rp.create_only.clone();
        co.sort();
        assert_eq!(co, ["PolicyName", "RoleName"]);
        assert!(rp.attributes.is_empty());
        assert_eq!(rp.primary_identifier, ["PolicyName", "RoleName"]);
        assert!(!rp.taggable);

        let bp = load(S3_BUCKET_POLICY, None, &[]);
        assert_eq!(bp.create_only, ["Bucket"]);
        assert!(bp.attributes.is_empty());
    }

    #[test]
    fn queue_topic_and_table_facts() {
        let q = load(SQS_QUEUE, Some("QueueName"), &[]);
        assert_eq!(q.create_only, ["FifoQueue", "QueueName"]);
        assert_eq!(q.attributes, ["QueueUrl", "Arn"]);
        assert_eq!(q.primary_identifier, ["QueueUrl"]);
        assert!(q.taggable && q.tag_on_create && q.tag_updatable);
        let t = load(SNS_TOPIC, Some("TopicName"), &[]);
        assert_eq!(t.create_only, ["TopicName", "FifoTopic"]);
        assert_eq!(t.attributes, ["TopicArn"]);
        // DynamoDB: `KeySchema` is not create-only in the registry schema (the type refuses
        // a change of it in `update`); nothing nested is create-only.
        let d = load(DYNAMODB_TABLE, Some("TableName"), &[]);
        assert_eq!(d.create_only, ["TableName", "ImportSourceSpecification"]);
        assert_eq!(d.attributes, ["Arn", "StreamArn"]);
        assert_eq!(d.required, ["KeySchema"]);
    }

    #[test]
    fn cloudwatch_and_scheduler_schema_facts() {
        let alarm = load(CLOUDWATCH_ALARM, Some("AlarmName"), &[]);
        assert_eq!(alarm.create_only, ["AlarmName"]);
        assert_eq!(alarm.attributes, ["Arn"]);
        assert_eq!(alarm.primary_identifier, ["AlarmName"]);
        assert!(alarm.unordered_lists.contains(&"Dimensions".to_string()));
        assert_eq!(alarm.defaults["ActionsEnabled"], true);
        assert!(alarm.required.is_empty());
        assert!(alarm.taggable && alarm.tag_on_create && alarm.tag_updatable);

        let dash = load(CLOUDWATCH_DASHBOARD, Some("DashboardName"), &[]);
        assert_eq!(dash.create_only, ["DashboardName"]);
        assert!(dash.attributes.is_empty());
        assert_eq!(dash.required, ["DashboardBody"]);
        assert_eq!(dash.properties["DashboardBody"], "string");

        let group = load(SCHEDULER_SCHEDULE_GROUP, Some("Name"), &["LastModificationDate"]);
        assert_eq!(group.create_only, ["Name"]);
        assert_eq!(group.attributes, ["Arn", "CreationDate", "LastModificationDate", "State"]);
        assert!(group.taggable && group.tag_updatable);

        let schedule = load(SCHEDULER_SCHEDULE, Some("Name"), &["Arn"]);
        // GroupName is not create-only: the type moves a schedule to another group.
        assert_eq!(schedule.create_only, ["Name"]);
        assert_eq!(schedule.attributes, ["Arn"]);
        let mut req = schedule.required.clone();
        req.sort();
        assert_eq!(req, ["FlexibleTimeWindow", "ScheduleExpression", "Target"]);
        assert!(!schedule.taggable);
        assert_eq!(schedule.enums["State"], [serde_json::json!("ENABLED"), serde_json::json!("DISABLED")]);
    }

    /// Every vendored schema, with its type name.
    const VENDORED: [&str; 57] = [
        COGNITO_USER_POOL,
        COGNITO_USER_POOL_CLIENT,
        S3_BUCKET,
        S3_BUCKET_POLICY,
        IAM_ROLE,
        IAM_MANAGED_POLICY,
        IAM_POLICY,
        IAM_INSTANCE_PROFILE,
        IAM_ROLE_POLICY,
        LOGS_LOG_GROUP,
        LAMBDA_FUNCTION,
        LAMBDA_PERMISSION,
        DYNAMODB_TABLE,
        EC2_VPC,
        EC2_SUBNET,
        EC2_SECURITY_GROUP,
        RDS_DB_INSTANCE,
        ECR_REPOSITORY,
        SQS_QUEUE,
        SNS_TOPIC,
        CLOUDWATCH_ALARM,
        CLOUDWATCH_DASHBOARD,
        SCHEDULER_SCHEDULE_GROUP,
        SCHEDULER_SCHEDULE,
        APIGATEWAYV2_API,
        APIGATEWAYV2_INTEGRATION,
        APIGATEWAYV2_AUTHORIZER,
        APIGATEWAYV2_ROUTE,
        APIGATEWAYV2_STAGE,
        EC2_INTERNET_GATEWAY,
        EC2_VPC_GATEWAY_ATTACHMENT,
        EC2_EIP,
        EC2_NAT_GATEWAY,
        EC2_ROUTE_TABLE,
        EC2_ROUTE,
        EC2_SUBNET_ROUTE_TABLE_ASSOCIATION,
        EC2_SECURITY_GROUP_INGRESS,
        EC2_SECURITY_GROUP_EGRESS,
        EC2_INSTANCE,
        RDS_DB_SUBNET_GROUP,
        RDS_DB_PARAMETER_GROUP,
        SSM_PARAMETER,
        APIGATEWAY_REST_API,
        APIGATEWAY_RESOURCE,
        APIGATEWAY_METHOD,
        APIGATEWAY_DEPLOYMENT,
        APIGATEWAY_STAGE,
        APIGATEWAY_ACCOUNT,
        CLOUDFRONT_DISTRIBUTION,
        CLOUDFRONT_ORIGIN_ACCESS_CONTROL,
        ACM_CERTIFICATE,
        ROUTE53_HOSTED_ZONE,
        ROUTE53_RECORD_SET,
        DSQL_CLUSTER,
        KMS_KEY,
        KMS_ALIAS,
        IAM_OIDC_PROVIDER,
    ];

    #[test]
    fn nested_paths_across_the_vendored_schemas() {
        let all: Vec<TypeSchema> = VENDORED.iter().map(|t| load(t, None, &[])).collect();
        let with_nested = |f: fn(&TypeSchema) -> &Vec<String>| -> Vec<&str> {
            all.iter().filter(|s| f(s).iter().any(|p| schema::is_nested(p))).map(|s| s.type_name.as_str()).collect()
        };
        assert_eq!(with_nested(|s| &s.create_only), ["AWS::ECR::Repository"]);
        assert_eq!(
            with_nested(|s| &s.write_only),
            [
                "AWS::S3::Bucket",
                "AWS::Lambda::Function",
                "AWS::EC2::VPC",
                "AWS::EC2::SecurityGroup",
                // `BodyS3Location.Bucket` and the rest of the OpenAPI import's location.
                "AWS::ApiGatewayV2::Api",
                // `BlockDeviceMappings[*].NoDevice` and `.VirtualName`.
                "AWS::EC2::Instance",
                // `DomainValidationOptions[*].HostedZoneId`: ACM never returns it.
                "AWS::CertificateManager::Certificate"
            ]
        );
        for s in &all {
            // Every path is in the engine's syntax (no pointer left), and every
            // primaryIdentifier names a property or an attribute.
            for p in s.create_only.iter().chain(&s.write_only).chain(&s.read_only).chain(&s.unordered_lists) {
                assert!(!p.contains('/') && !p.is_empty(), "{}: {p}", s.type_name);
            }
            assert!(!s.primary_identifier.is_empty(), "{}", s.type_name);
            for p in &s.primary_identifier {
                assert!(s.properties.contains_key(p) || s.attributes.contains(p), "{}: {p}", s.type_name);
            }
        }
    }

    #[test]
    fn lambda_code_is_write_only_below_the_top_level() {
        let f = load(LAMBDA_FUNCTION, Some("FunctionName"), &[]);
        for p in ["Code.ZipFile", "Code.S3Bucket", "Code.S3Key", "Code.ImageUri", "SnapStart"] {
            assert!(f.write_only.contains(&p.to_string()), "{p}");
        }
        assert!(!f.is_write_only("Code"), "Code as a whole is compared, its members are not");
        assert!(f.is_write_only("SnapStart"));
        assert_eq!(f.primary_identifier, ["FunctionName"]);
        assert_eq!(f.enums["PackageType"], [serde_json::json!("Image"), serde_json::json!("Zip")]);
        assert_eq!(f.enums["Architectures[*]"], [serde_json::json!("x86_64"), serde_json::json!("arm64")]);
        let code = serde_json::json!({"ZipFile": "exports.handler = 1", "S3Bucket": "b"});
        assert_eq!(f.comparable("Code", &code), serde_json::json!({}));
        assert!(f.taggable && f.tag_on_create && f.tag_updatable);
        assert_eq!(f.tag_property.as_deref(), Some("Tags"));
    }

    #[test]
    fn cognito_facts() {
        let pool = load(COGNITO_USER_POOL, Some("UserPoolName"), &[]);
        // No property is create-only: `UsernameAttributes` and the standard attributes are
        // refused by the type's update, not replaced.
        assert!(pool.create_only.is_empty());
        assert_eq!(pool.write_only, ["EnabledMfas"]);
        let mut atts = pool.attributes.clone();
        atts.sort();
        assert_eq!(atts, ["Arn", "ProviderName", "ProviderURL", "UserPoolId"]);
        assert_eq!(pool.tag_property.as_deref(), Some("UserPoolTags"));
        assert!(pool.taggable && pool.tag_on_create && pool.tag_updatable);

        let client = load(COGNITO_USER_POOL_CLIENT, None, &[]);
        let mut co = client.create_only.clone();
        co.sort();
        assert_eq!(co, ["GenerateSecret", "UserPoolId"]);
        let mut atts = client.attributes.clone();
        atts.sort();
        assert_eq!(atts, ["ClientId", "ClientSecret", "Name"]);
        assert_eq!(client.required, ["UserPoolId"]);
        assert!(!client.taggable);
    }

    #[test]
    fn log_group_and_lambda_permission_facts() {
        let lg = load(LOGS_LOG_GROUP, Some("LogGroupName"), &[]);
        assert_eq!(lg.create_only, ["LogGroupName"]);
        assert_eq!(lg.attributes, ["Arn"]);
        assert_eq!(lg.properties["RetentionInDays"], "integer");
        assert!(lg.taggable && lg.tag_on_create && lg.tag_updatable);
        assert!(lg.required.is_empty());

        let perm = load(LAMBDA_PERMISSION, None, &[]);
        assert_eq!(perm.attributes, ["Id"]);
        let mut req = perm.required.clone();
        req.sort();
        assert_eq!(req, ["Action", "FunctionName", "Principal"]);
        // Every property is create-only: a permission is never updated in place.
        for p in perm.properties.keys() {
            assert!(perm.create_only.contains(p), "{p}");
        }
        assert!(!perm.taggable);
    }

    #[test]
    fn api_gateway_v2_facts() {
        let api = load(APIGATEWAYV2_API, Some("Name"), &[]);
        assert_eq!(api.create_only, ["ProtocolType"]);
        assert_eq!(api.attributes, ["ApiId", "ApiEndpoint", "ExecuteApiArn"]);
        assert_eq!(api.primary_identifier, ["ApiId"]);
        assert!(api.taggable && api.tag_on_create && api.tag_updatable);
        // `Tags` is a map here, not a list: the kit shows the live tags in that shape.
        assert_eq!(api.tag_property.as_deref(), Some("Tags"));
        assert_eq!(api.properties["Tags"], "object");
        for p in ["Body", "BodyS3Location.Bucket", "Target", "RouteKey", "CredentialsArn"] {
            assert!(api.write_only.contains(&p.to_string()), "{p}");
        }
        let stage = load(APIGATEWAYV2_STAGE, Some("StageName"), &[]);
        let mut co = stage.create_only.clone();
        co.sort();
        assert_eq!(co, ["ApiId", "StageName"]);
        assert!(stage.attributes.is_empty());
        assert_eq!(stage.properties["Tags"], "object");
        for (schema, id) in [
            (APIGATEWAYV2_INTEGRATION, "IntegrationId"),
            (APIGATEWAYV2_AUTHORIZER, "AuthorizerId"),
            (APIGATEWAYV2_ROUTE, "RouteId"),
        ] {
            let s = load(schema, None, &[]);
            assert_eq!(s.create_only, ["ApiId"], "{}", s.type_name);
            assert_eq!(s.attributes, [id], "{}", s.type_name);
            assert!(s.primary_identifier.contains(&"ApiId".to_string()), "{}", s.type_name);
            assert!(!s.taggable, "{}", s.type_name);
        }
        let route = load(APIGATEWAYV2_ROUTE, None, &[]);
        assert!(route.is_write_only("AuthorizerId"));
    }

    #[test]
    fn ecr_has_nested_create_only_paths() {
        let r = load(ECR_REPOSITORY, Some("RepositoryName"), &[]);
        let mut co = r.create_only.clone();
        co.sort();
        assert_eq!(
            co,
            [
                "EncryptionConfiguration",
                "EncryptionConfiguration.EncryptionType",
                "EncryptionConfiguration.KmsKey",
                "RepositoryName"
            ]
        );
        let old = serde_json::json!({"EncryptionType": "AES256"});
        let new = serde_json::json!({"EncryptionType": "KMS", "KmsKey": "k"});
        assert_eq!(
            r.create_only_changes("EncryptionConfiguration", Some(&old), Some(&new)),
            ["EncryptionConfiguration.EncryptionType", "EncryptionConfiguration.KmsKey"]
        );
    }

    #[test]
    fn bucket_nested_facts_defaults_enums_and_tagging() {
        let s = load(S3_BUCKET, Some("BucketName"), &[]);
        for p in [
            "LifecycleConfiguration.Rules[*].Transition",
            "LifecycleConfiguration.Rules[*].ExpiredObjectDeleteMarker",
            "ReplicationConfiguration.Rules[*].Prefix",
            "AccessControl",
        ] {
            assert!(s.write_only.contains(&p.to_string()), "{p}");
        }
        assert!(s.read_only.contains(&"MetadataConfiguration.Destination".to_string()));
        assert!(!s.attributes.contains(&"MetadataConfiguration.Destination".to_string()));
        assert_eq!(s.primary_identifier, ["BucketName"]);
        assert_eq!(s.defaults["VersioningConfiguration.Status"], "Suspended");
        assert_eq!(
            s.enums["VersioningConfiguration.Status"],
            [serde_json::json!("Enabled"), serde_json::json!("Suspended")]
        );
        assert!(s.enums.contains_key(
            "BucketEncryption.ServerSideEncryptionConfiguration[*].ServerSideEncryptionByDefault.SSEAlgorithm"
        ));
        assert!(s.taggable && s.tag_on_create && s.tag_updatable);
        assert_eq!(s.tag_property.as_deref(), Some("Tags"));
        // A status left out and the status at its default mean the same.
        assert_eq!(
            s.canonical("VersioningConfiguration", &serde_json::json!({"Status": "Suspended"})),
            serde_json::json!({})
        );

        let role = load(IAM_ROLE, Some("RoleName"), &[]);
        assert_eq!(role.defaults["Path"], "/");
        assert_eq!(role.canonical("Path", &serde_json::json!("/")), Json::Null);
        assert!(role.patterns.contains_key("RoleName"));
        let mp = load(IAM_MANAGED_POLICY, None, &[]);
        assert!(!mp.taggable && !mp.tag_on_create && !mp.tag_updatable);
        assert_eq!(mp.tag_property, None);
    }

    #[test]
    fn enums_and_patterns_are_checked_at_their_path() {
        use cairn_core::provider::check_against_schema;
        use cairn_core::Value;
        let s = load(S3_BUCKET, Some("BucketName"), &[]);
        let props = Value::from_json(&serde_json::json!({
            "VersioningConfiguration": {"Status": "Sometimes"},
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}},
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "rot13"}}
            ]}
        }));
        let f = check_against_schema(&s, &props);
        let got: Vec<(&str, &str)> = f.iter().map(|f| (f.path.as_str(), f.message.as_str())).collect();
        assert_eq!(
            got,
            [
                (
                    "BucketEncryption.ServerSideEncryptionConfiguration[1].ServerSideEncryptionByDefault.SSEAlgorithm",
                    "expected one of `aws:kms`, `AES256`, `aws:kms:dsse`, found `rot13`"
                ),
                ("VersioningConfiguration.Status", "expected one of `Enabled`, `Suspended`, found `Sometimes`"),
            ]
        );
    }
}
