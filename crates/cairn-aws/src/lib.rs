//! cairn's AWS provider: CloudFormation resource types applied straight through
//! aws-sdk-rust.
//!
//! | type | module |
//! | --- | --- |
//! | `AWS::S3::Bucket` | [`s3::bucket`] |
//! | `AWS::S3::BucketPolicy` | [`s3::bucket_policy`] |
//! | `AWS::IAM::Role` | [`iam::role`] |
//! | `AWS::IAM::ManagedPolicy` | [`iam::managed_policy`] |
//! | `AWS::IAM::Policy` | [`iam::policy`] |
//! | `AWS::IAM::InstanceProfile` | [`iam::instance_profile`] |
//! | `AWS::SQS::Queue` | [`sqs::queue`] |
//! | `AWS::SNS::Topic` | [`sns::topic`] |
//! | `AWS::DynamoDB::Table` | [`dynamodb::table`] |
//! | `AWS::CloudWatch::Alarm` | [`cloudwatch::alarm`] |
//! | `AWS::CloudWatch::Dashboard` | [`cloudwatch::dashboard`] |
//! | `AWS::Scheduler::ScheduleGroup` | [`scheduler::schedule_group`] |
//! | `AWS::Scheduler::Schedule` | [`scheduler::schedule`] |
//! | `AWS::IAM::RolePolicy` | [`iam::role_policy`] |
//! | `AWS::Logs::LogGroup` | [`logs::log_group`] |
//! | `AWS::Lambda::Function` | [`lambda::function`] |
//! | `AWS::Lambda::Permission` | [`lambda::permission`] |
//! | `AWS::Cognito::UserPool` | [`cognito::user_pool`] |
//! | `AWS::Cognito::UserPoolClient` | [`cognito::user_pool_client`] |
//! | `AWS::SSM::Parameter` | [`ssm::parameter`] |
//! | `AWS::ECR::Repository` | [`ecr::repository`] |
//! | `AWS::RDS::DBParameterGroup` | [`rds::db_parameter_group`] |
//! | `AWS::RDS::DBInstance` | [`rds::db_instance`] |
//! | `AWS::RDS::DBSubnetGroup` | [`rds::db_subnet_group`] |
//! | `AWS::CloudFront::OriginAccessControl` | [`cloudfront::origin_access_control`] |
//! | `AWS::CloudFront::Distribution` | [`cloudfront::distribution`] |
//! | `AWS::Route53::HostedZone` | [`route53::hosted_zone`] |
//! | `AWS::Route53::RecordSet` | [`route53::record_set`] |
//! | `AWS::CertificateManager::Certificate` | [`acm::certificate`] |
//!
//! Every type is one file on the provider kit ([`kit`]: module doc, `Spec`, typed `Props`,
//! the `AwsType` impl, its conformance fixture, tests; `docs/providers.md`). Schemas come
//! from the vendored CloudFormation registry schemas ([`schema`]); policy documents compare
//! by meaning ([`policy_doc`]). Each service is a cargo feature (all on by default).
//!
//! # Configuration
//!
//! [`provider`] loads the SDK configuration once with aws-config's defaults: the standard
//! credential chain (environment, profile files, SSO, credential process, web identity,
//! ECS and EC2 instance metadata), `AWS_REGION`/profile region, and `AWS_ENDPOINT_URL`
//! (also `AWS_ENDPOINT_URL_S3`, `_IAM`, `_STS`), which points every client at a local
//! emulator such as moto (`scripts/moto.sh`). When an endpoint URL is set, S3 uses path-style
//! addressing. Calls use the SDK's standard retry mode with [`max_attempts`] attempts (10, or
//! `AWS_MAX_ATTEMPTS`); where AWS is eventually consistent (a new bucket, a new IAM entity)
//! the types also wait, with a bounded backoff ([`kit::wait`]).
//!
//! With `CAIRN_COUNT_API_CALLS=1` the clients count the API calls they make ([`api_calls`]).
//!
//! Resources may set `Region:` (the engine passes it in `OpContext::region`): clients are
//! kept one per service and region, made on first use ([`kit::clients`]); a global service
//! (IAM) has one client, signed in its partition's home region.

use std::sync::Arc;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use cairn_core::provider::{Identity, ProviderError, Registry};
use tokio::sync::OnceCell;

#[cfg(feature = "acm")]
pub mod acm;
pub mod api_calls;
#[cfg(feature = "apigateway")]
pub mod apigateway;
#[cfg(feature = "apigatewayv2")]
pub mod apigatewayv2;
#[cfg(feature = "cloudfront")]
pub mod cloudfront;
#[cfg(feature = "cloudwatch")]
pub mod cloudwatch;
#[cfg(feature = "cognito")]
pub mod cognito;
#[cfg(feature = "dsql")]
pub mod dsql;
#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "ec2")]
pub mod ec2;
#[cfg(feature = "ecr")]
pub mod ecr;
#[cfg(feature = "iam")]
pub mod iam;
pub mod kit;
#[cfg(feature = "kms")]
pub mod kms;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "logs")]
pub mod logs;
#[cfg(feature = "ssm")]
pub mod parameter_store;
pub mod policy_doc;
#[cfg(feature = "rds")]
pub mod rds;
#[cfg(feature = "route53")]
pub mod route53;
#[cfg(feature = "s3")]
pub mod s3;
#[cfg(feature = "scheduler")]
pub mod scheduler;
pub mod schema;
#[cfg(feature = "sns")]
pub mod sns;
#[cfg(feature = "sqs")]
pub mod sqs;
#[cfg(feature = "ssm")]
pub mod ssm;
mod util;

pub use cairn_aws_errors::{max_attempts, retry_config, sdk_error, MAX_ATTEMPTS};

/// The SDK clients the types share: one per service and region ([`kit::clients`]).
pub struct Aws {
    config: SdkConfig,
    /// Whether an endpoint URL overrides AWS's (then S3 must use path-style addressing).
    custom_endpoint: bool,
    clients: kit::clients::Clients,
    account: OnceCell<String>,
}

impl Aws {
    /// Load the SDK configuration from the environment (see the crate docs).
    pub async fn from_env() -> Arc<Aws> {
        let config = aws_config::defaults(BehaviorVersion::latest()).retry_config(retry_config()).load().await;
        Aws::from_config(config)
    }

    /// Load the SDK configuration from the environment with `region` as the default
    /// region (the stack's), so that no region lookup reaches instance metadata.
    pub async fn for_region(region: &str) -> Arc<Aws> {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .retry_config(retry_config())
            .load()
            .await;
        Aws::from_config(config)
    }

    /// The region the AWS SDK's own chain gives, short of instance metadata:
    /// `AWS_REGION`, then `AWS_DEFAULT_REGION`, then the `region` of the profile
    /// (`AWS_PROFILE`, else `default`) in the config file (`AWS_CONFIG_FILE`, else
    /// `~/.aws/config`). The EC2 metadata service is not asked: off EC2 it costs a timeout.
    pub async fn region_from_environment() -> Option<String> {
        use aws_config::meta::region::RegionProviderChain;
        RegionProviderChain::first_try(aws_config::environment::EnvironmentVariableRegionProvider::new())
            .or_else(aws_config::profile::ProfileFileRegionProvider::new())
            .region()
            .await
            .map(|r| r.as_ref().to_string())
            .filter(|r| !r.trim().is_empty())
    }

    /// Clients from a given configuration (tests point it at moto explicitly).
    pub fn from_config(config: SdkConfig) -> Arc<Aws> {
        let custom_endpoint = config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        Arc::new(Aws { config, custom_endpoint, clients: Default::default(), account: OnceCell::new() })
    }

    /// Clients with no configuration at all, for what needs the types but calls nothing
    /// (`cairn types`): no environment, profile or credentials are read.
    pub fn unconfigured() -> Arc<Aws> {
        Aws::from_config(SdkConfig::builder().build())
    }

    /// The client of service `C` for `region` (the default region when empty), made once
    /// per service and region. A global service's client signs in its partition's home
    /// region whatever `region` is.
    pub fn client<C: kit::clients::Service>(&self, region: &str) -> C {
        let default = self.config.region().map(|r| r.as_ref()).unwrap_or_default();
        let region = if region.is_empty() { default } else { region };
        self.clients.get::<C>(&self.config, region, self.custom_endpoint)
    }

    /// The S3 client for a region.
    #[cfg(feature = "s3")]
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        self.client(region)
    }

    /// The IAM client (global).
    #[cfg(feature = "iam")]
    pub fn iam(&self) -> aws_sdk_iam::Client {
        self.client("")
    }

    /// The configured default region, if any.
    pub fn default_region(&self) -> Option<String> {
        self.config.region().map(|r| r.to_string())
    }

    /// The account id from STS `GetCallerIdentity`, asked once.
    pub async fn account_id(&self) -> Result<String, ProviderError> {
        self.account
            .get_or_try_init(|| async {
                let sts: aws_sdk_sts::Client = self.client("");
                let out = sts.get_caller_identity().send().await.map_err(util::sdk_error)?;
                out.account.ok_or_else(|| {
                    ProviderError::with_code("InvalidResponse", "STS GetCallerIdentity returned no account")
                })
            })
            .await
            .cloned()
    }
}

/// The [`Identity`] that asks STS (once) who the credentials belong to.
pub struct StsIdentity(pub Arc<Aws>);

#[async_trait]
impl Identity for StsIdentity {
    async fn account_id(&self) -> Result<String, ProviderError> {
        self.0.account_id().await
    }
}

/// Load the AWS configuration from the environment, register the AWS resource types and set
/// the STS identity. Returns the shared clients.
pub async fn provider(reg: &mut Registry) -> Arc<Aws> {
    let aws = Aws::from_env().await;
    register(reg, aws.clone());
    aws
}

/// Register the AWS resource types on given clients, and the STS identity.
pub fn register(reg: &mut Registry, aws: Arc<Aws>) {
    #[cfg(feature = "s3")]
    {
        reg.register(Arc::new(s3::bucket::Bucket::new(aws.clone())));
        reg.register(Arc::new(s3::bucket_policy::BucketPolicy::new(aws.clone())));
    }
    #[cfg(feature = "iam")]
    {
        reg.register(Arc::new(iam::role::Role::new(aws.clone())));
        reg.register(Arc::new(iam::managed_policy::ManagedPolicy::new(aws.clone())));
        reg.register(Arc::new(iam::policy::Policy::new(aws.clone())));
        reg.register(Arc::new(iam::instance_profile::InstanceProfile::new(aws.clone())));
        reg.register(Arc::new(iam::role_policy::RolePolicy::new(aws.clone())));
        reg.register(Arc::new(iam::oidc_provider::OidcProvider::new(aws.clone())));
    }
    #[cfg(feature = "sqs")]
    reg.register(Arc::new(sqs::queue::Queue::new(aws.clone())));
    #[cfg(feature = "sns")]
    reg.register(Arc::new(sns::topic::Topic::new(aws.clone())));
    #[cfg(feature = "dynamodb")]
    reg.register(Arc::new(dynamodb::table::Table::new(aws.clone())));
    #[cfg(feature = "cloudwatch")]
    {
        reg.register(Arc::new(cloudwatch::alarm::Alarm::new(aws.clone())));
        reg.register(Arc::new(cloudwatch::dashboard::Dashboard::new(aws.clone())));
    }
    #[cfg(feature = "scheduler")]
    {
        reg.register(Arc::new(scheduler::schedule_group::ScheduleGroup::new(aws.clone())));
        reg.register(Arc::new(scheduler::schedule::Schedule::new(aws.clone())));
    }
    #[cfg(feature = "logs")]
    reg.register(Arc::new(logs::log_group::LogGroup::new(aws.clone())));
    #[cfg(feature = "lambda")]
    reg.register(Arc::new(lambda::function::Function::new(aws.clone())));
    #[cfg(feature = "apigatewayv2")]
    {
        reg.register(Arc::new(apigatewayv2::api::Api::new(aws.clone())));
        reg.register(Arc::new(apigatewayv2::integration::Integration::new(aws.clone())));
        reg.register(Arc::new(apigatewayv2::authorizer::Authorizer::new(aws.clone())));
        reg.register(Arc::new(apigatewayv2::route::Route::new(aws.clone())));
        reg.register(Arc::new(apigatewayv2::stage::Stage::new(aws.clone())));
    }
    #[cfg(feature = "apigateway")]
    {
        reg.register(Arc::new(apigateway::rest_api::RestApi::new(aws.clone())));
        reg.register(Arc::new(apigateway::resource::Resource::new(aws.clone())));
        reg.register(Arc::new(apigateway::method::Method::new(aws.clone())));
        reg.register(Arc::new(apigateway::deployment::Deployment::new(aws.clone())));
        reg.register(Arc::new(apigateway::stage::Stage::new(aws.clone())));
        reg.register(Arc::new(apigateway::account::Account::new(aws.clone())));
    }
    #[cfg(feature = "lambda")]
    reg.register(Arc::new(lambda::permission::Permission::new(aws.clone())));
    #[cfg(feature = "cognito")]
    reg.register(Arc::new(cognito::user_pool::UserPool::new(aws.clone())));
    #[cfg(feature = "cognito")]
    reg.register(Arc::new(cognito::user_pool_client::UserPoolClient::new(aws.clone())));
    #[cfg(feature = "ssm")]
    reg.set_parameter_store(Arc::new(parameter_store::SsmParameterStore(aws.clone())));
    #[cfg(feature = "ssm")]
    reg.register(Arc::new(ssm::parameter::Parameter::new(aws.clone())));
    #[cfg(feature = "ecr")]
    reg.register(Arc::new(ecr::repository::Repository::new(aws.clone())));
    #[cfg(feature = "rds")]
    {
        reg.register(Arc::new(rds::db_parameter_group::DbParameterGroupType::new(aws.clone())));
        reg.register(Arc::new(rds::db_instance::DbInstanceType::new(aws.clone())));
        reg.register(Arc::new(rds::db_subnet_group::DbSubnetGroupType::new(aws.clone())));
    }
    #[cfg(feature = "ec2")]
    {
        reg.register(Arc::new(ec2::vpc::Vpc::new(aws.clone())));
        reg.register(Arc::new(ec2::subnet::Subnet::new(aws.clone())));
        reg.register(Arc::new(ec2::internet_gateway::InternetGateway::new(aws.clone())));
        reg.register(Arc::new(ec2::vpc_gateway_attachment::VpcGatewayAttachment::new(aws.clone())));
        reg.register(Arc::new(ec2::route_table::RouteTable::new(aws.clone())));
        reg.register(Arc::new(ec2::subnet_route_table_association::SubnetRouteTableAssociation::new(aws.clone())));
        reg.register(Arc::new(ec2::eip::Eip::new(aws.clone())));
        reg.register(Arc::new(ec2::nat_gateway::NatGateway::new(aws.clone())));
        reg.register(Arc::new(ec2::route::Route::new(aws.clone())));
        reg.register(Arc::new(ec2::security_group::SecurityGroup::new(aws.clone())));
        reg.register(Arc::new(ec2::security_group_rule::SecurityGroupIngress::new(aws.clone())));
        reg.register(Arc::new(ec2::security_group_rule::SecurityGroupEgress::new(aws.clone())));
        reg.register(Arc::new(ec2::instance::Instance::new(aws.clone())));
    }
    #[cfg(feature = "kms")]
    {
        reg.register(Arc::new(kms::key::Key::new(aws.clone())));
        reg.register(Arc::new(kms::alias::Alias::new(aws.clone())));
    }
    #[cfg(feature = "dsql")]
    {
        reg.register(Arc::new(dsql::cluster::Cluster::new(aws.clone())));
        reg.register(Arc::new(dsql::cluster_peering::ClusterPeering::new(aws.clone())));
    }
    #[cfg(feature = "cloudfront")]
    {
        reg.register(Arc::new(cloudfront::origin_access_control::OriginAccessControl::new(aws.clone())));
        reg.register(Arc::new(cloudfront::distribution::Distribution::new(aws.clone())));
    }
    #[cfg(feature = "route53")]
    {
        reg.register(Arc::new(route53::hosted_zone::HostedZone::new(aws.clone())));
        reg.register(Arc::new(route53::record_set::RecordSet::new(aws.clone())));
    }
    #[cfg(feature = "acm")]
    reg.register(Arc::new(acm::certificate::Certificate::new(aws.clone())));
    reg.set_identity(Arc::new(StsIdentity(aws)));
}

/// The conformance fixture of every AWS type on the provider kit, by type name (the
/// generic lifecycle suite, `crates/cairn-cli/tests/conformance.rs`, runs each one).
pub fn fixtures() -> Vec<(&'static str, kit::Fixture)> {
    #[allow(unused_imports)]
    use kit::AwsType;
    #[allow(unused_mut)]
    let mut out: Vec<(&'static str, kit::Fixture)> = Vec::new();
    #[cfg(feature = "s3")]
    out.extend([
        (s3::bucket::TYPE_NAME, s3::bucket::Bucket.fixture()),
        (s3::bucket_policy::TYPE_NAME, s3::bucket_policy::BucketPolicy.fixture()),
    ]);
    #[cfg(feature = "iam")]
    out.extend([
        (iam::role::TYPE_NAME, iam::role::Role.fixture()),
        (iam::managed_policy::TYPE_NAME, iam::managed_policy::ManagedPolicy.fixture()),
        (iam::policy::TYPE_NAME, iam::policy::Policy.fixture()),
        (iam::instance_profile::TYPE_NAME, iam::instance_profile::InstanceProfile.fixture()),
        (iam::role_policy::TYPE_NAME, iam::role_policy::RolePolicy.fixture()),
        (iam::oidc_provider::TYPE_NAME, iam::oidc_provider::OidcProvider.fixture()),
    ]);
    #[cfg(feature = "sqs")]
    out.push((sqs::queue::TYPE_NAME, sqs::queue::Queue.fixture()));
    #[cfg(feature = "sns")]
    out.push((sns::topic::TYPE_NAME, sns::topic::Topic.fixture()));
    #[cfg(feature = "dynamodb")]
    out.push((dynamodb::table::TYPE_NAME, dynamodb::table::Table.fixture()));
    #[cfg(feature = "cloudwatch")]
    out.extend([
        (cloudwatch::alarm::TYPE_NAME, cloudwatch::alarm::Alarm.fixture()),
        (cloudwatch::dashboard::TYPE_NAME, cloudwatch::dashboard::Dashboard.fixture()),
    ]);
    #[cfg(feature = "scheduler")]
    out.extend([
        (scheduler::schedule_group::TYPE_NAME, scheduler::schedule_group::ScheduleGroup.fixture()),
        (scheduler::schedule::TYPE_NAME, scheduler::schedule::Schedule.fixture()),
    ]);
    #[cfg(feature = "logs")]
    out.push((logs::log_group::TYPE_NAME, logs::log_group::LogGroup.fixture()));
    #[cfg(feature = "lambda")]
    out.push((lambda::function::TYPE_NAME, lambda::function::Function.fixture()));
    #[cfg(feature = "apigatewayv2")]
    out.extend([
        (apigatewayv2::api::TYPE_NAME, apigatewayv2::api::Api.fixture()),
        (apigatewayv2::integration::TYPE_NAME, apigatewayv2::integration::Integration.fixture()),
        (apigatewayv2::authorizer::TYPE_NAME, apigatewayv2::authorizer::Authorizer.fixture()),
        (apigatewayv2::route::TYPE_NAME, apigatewayv2::route::Route.fixture()),
        (apigatewayv2::stage::TYPE_NAME, apigatewayv2::stage::Stage.fixture()),
    ]);
    #[cfg(feature = "apigateway")]
    out.extend([
        (apigateway::rest_api::TYPE_NAME, apigateway::rest_api::RestApi.fixture()),
        (apigateway::resource::TYPE_NAME, apigateway::resource::Resource.fixture()),
        (apigateway::method::TYPE_NAME, apigateway::method::Method.fixture()),
        (apigateway::deployment::TYPE_NAME, apigateway::deployment::Deployment.fixture()),
        (apigateway::stage::TYPE_NAME, apigateway::stage::Stage.fixture()),
        (apigateway::account::TYPE_NAME, apigateway::account::Account.fixture()),
    ]);
    #[cfg(feature = "lambda")]
    out.push((lambda::permission::TYPE_NAME, lambda::permission::Permission.fixture()));
    #[cfg(feature = "cognito")]
    out.push((cognito::user_pool::TYPE_NAME, cognito::user_pool::UserPool.fixture()));
    #[cfg(feature = "cognito")]
    out.push((cognito::user_pool_client::TYPE_NAME, cognito::user_pool_client::UserPoolClient.fixture()));
    #[cfg(feature = "ssm")]
    out.push((ssm::parameter::TYPE_NAME, ssm::parameter::Parameter.fixture()));
    #[cfg(feature = "ecr")]
    out.push((ecr::repository::TYPE_NAME, ecr::repository::Repository.fixture()));
    #[cfg(feature = "rds")]
    out.extend([
        (rds::db_parameter_group::TYPE_NAME, rds::db_parameter_group::DbParameterGroupType.fixture()),
        (rds::db_instance::TYPE_NAME, rds::db_instance::DbInstanceType.fixture()),
        (rds::db_subnet_group::TYPE_NAME, rds::db_subnet_group::DbSubnetGroupType.fixture()),
    ]);
    #[cfg(feature = "ec2")]
    out.extend([
        (ec2::vpc::TYPE_NAME, ec2::vpc::Vpc.fixture()),
        (ec2::subnet::TYPE_NAME, ec2::subnet::Subnet.fixture()),
        (ec2::internet_gateway::TYPE_NAME, ec2::internet_gateway::InternetGateway.fixture()),
        (ec2::vpc_gateway_attachment::TYPE_NAME, ec2::vpc_gateway_attachment::VpcGatewayAttachment.fixture()),
        (ec2::route_table::TYPE_NAME, ec2::route_table::RouteTable.fixture()),
        (
            ec2::subnet_route_table_association::TYPE_NAME,
            ec2::subnet_route_table_association::SubnetRouteTableAssociation.fixture(),
        ),
        (ec2::eip::TYPE_NAME, ec2::eip::Eip.fixture()),
        (ec2::nat_gateway::TYPE_NAME, ec2::nat_gateway::NatGateway.fixture()),
        (ec2::route::TYPE_NAME, ec2::route::Route.fixture()),
        (ec2::security_group::TYPE_NAME, ec2::security_group::SecurityGroup.fixture()),
        (ec2::security_group_rule::INGRESS_TYPE_NAME, ec2::security_group_rule::SecurityGroupIngress.fixture()),
        (ec2::security_group_rule::EGRESS_TYPE_NAME, ec2::security_group_rule::SecurityGroupEgress.fixture()),
        (ec2::instance::TYPE_NAME, ec2::instance::Instance.fixture()),
    ]);
    #[cfg(feature = "kms")]
    out.extend([(kms::key::TYPE_NAME, kms::key::Key.fixture()), (kms::alias::TYPE_NAME, kms::alias::Alias.fixture())]);
    #[cfg(feature = "dsql")]
    out.extend([
        (dsql::cluster::TYPE_NAME, dsql::cluster::Cluster.fixture()),
        (dsql::cluster_peering::TYPE_NAME, dsql::cluster_peering::ClusterPeering.fixture()),
    ]);
    #[cfg(feature = "cloudfront")]
    out.extend([
        (
            cloudfront::origin_access_control::TYPE_NAME,
            cloudfront::origin_access_control::OriginAccessControl.fixture(),
        ),
        (cloudfront::distribution::TYPE_NAME, cloudfront::distribution::Distribution.fixture()),
    ]);
    #[cfg(feature = "route53")]
    out.extend([
        (route53::hosted_zone::TYPE_NAME, route53::hosted_zone::HostedZone.fixture()),
        (route53::record_set::TYPE_NAME, route53::record_set::RecordSet.fixture()),
    ]);
    #[cfg(feature = "acm")]
    out.push((acm::certificate::TYPE_NAME, acm::certificate::Certificate.fixture()));
    out
}

#[cfg(test)]
pub(crate) fn test_ctx(type_name: &str, logical_id: &str) -> cairn_core::provider::OpContext {
    cairn_core::provider::OpContext {
        project: "demo".into(),
        stack: "dev".into(),
        logical_id: logical_id.into(),
        type_name: type_name.into(),
        region: "us-east-1".into(),
        account_id: "123456789012".into(),
        partition: "aws".into(),
        stack_tags: std::collections::BTreeMap::from([("Team".to_string(), "data".to_string())]),
        name_seed: "abcdefghijkl".into(),
        progress: Default::default(),
        assets: Default::default(),
        final_snapshot: false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value as Json;

    use super::*;

    /// A fixture's properties as the suite deploys them: `{"Ref": X}` as a name, `Fn::Sub`
    /// of pseudo parameters and names, `{uid}` replaced; a `Fn::GetAtt` of a support
    /// resource is known only after `up` (as in a preview before the support resources
    /// exist).
    fn resolved(v: &Json) -> cairn_core::Value {
        use cairn_core::Value;
        match v {
            // `ref_<id>`: with `_`, it also has the shape of a Cognito user pool id.
            Json::Object(m) if m.len() == 1 && m.contains_key("Ref") => {
                Value::string(format!("ref_{}", m["Ref"].as_str().unwrap_or_default().to_lowercase()))
            }
            // `Fn::Sub` with pseudo parameters and `${Id}` (as a name, like `Ref`).
            Json::Object(m) if m.len() == 1 && m.get("Fn::Sub").is_some_and(Json::is_string) => {
                let mut s = m["Fn::Sub"].as_str().unwrap_or_default().replace("{uid}", "abc123");
                for (k, v) in
                    [("AWS::AccountId", "123456789012"), ("AWS::Region", "us-east-1"), ("AWS::Partition", "aws")]
                {
                    s = s.replace(&format!("${{{k}}}"), v);
                }
                while let Some(i) = s.find("${") {
                    let end = s[i..].find('}').map_or(s.len(), |e| i + e + 1);
                    let name = format!("ref-{}", s[i + 2..end - 1].to_lowercase());
                    s.replace_range(i..end, &name);
                }
                Value::string(s)
            }
            Json::Object(m) if m.len() == 1 && m.contains_key("Fn::GetAtt") => Value::Unknown,
            Json::Object(m) => Value::Map(m.iter().map(|(k, v)| (k.clone(), resolved(v))).collect()),
            Json::Array(items) => Value::List(items.iter().map(resolved).collect()),
            Json::String(s) => Value::string(s.replace("{uid}", "abc123")),
            other => Value::from_json(other),
        }
    }

    /// `Fn::GetAtt` names the CloudFormation documentation lists beyond the schema's
    /// read-only properties.
    #[test]
    fn documented_attributes_beyond_the_schema() {
        let mut reg = Registry::new();
        register(&mut reg, Aws::unconfigured());
        for (t, a) in [("AWS::SQS::Queue", "QueueName"), ("AWS::SNS::Topic", "TopicName")] {
            let Some(t) = reg.get(t) else { continue };
            assert!(t.schema().attributes.iter().any(|x| x == a), "{a}");
        }
    }

    /// Every fixture passes its type's check (support resources too); its update changes
    /// something in place, and its replacements change a create-only property.
    #[test]
    fn fixtures_are_valid_and_do_what_they_say() {
        let mut reg = Registry::new();
        register(&mut reg, Aws::unconfigured());
        let fixtures = fixtures();
        assert!(!fixtures.is_empty());
        for (type_name, f) in fixtures {
            let t = reg.get(type_name).unwrap_or_else(|| panic!("{type_name} is not registered"));
            let value = resolved;
            let mut props = vec![("create", &f.create)];
            props.extend(f.update.as_ref().map(|p| ("update", p)));
            props.extend(f.replace.as_ref().map(|p| ("replace", p)));
            props.extend(f.nested_replace.as_ref().map(|p| ("nested_replace", p)));
            for (step, p) in props {
                let failures = t.check(&value(p));
                assert!(failures.is_empty(), "{type_name} {step}: {failures:?}");
            }
            for (id, r) in f.support.as_object().into_iter().flatten() {
                let support = reg.get(r["Type"].as_str().unwrap_or_default()).expect("a registered support type");
                let failures = support.check(&value(&r["Properties"]));
                assert!(failures.is_empty(), "{type_name} support {id}: {failures:?}");
            }
            // An in-place update wherever the schema has a property that is not create-only.
            let updatable = t
                .schema()
                .properties
                .keys()
                .any(|p| !t.schema().create_only.contains(p) && !t.schema().read_only.contains(p));
            assert_eq!(f.update.is_some(), updatable, "{type_name}: update, and updatable properties");
            if let Some(update) = &f.update {
                let changes = cairn_core::plan::diff_properties(t.as_ref(), &value(&f.create), &value(update));
                assert!(!changes.is_empty() && changes.iter().all(|c| !c.forces_replacement), "{type_name} update");
            }
            // A replacement where the schema has a create-only property, and only there.
            let top_level = t.schema().create_only.iter().any(|p| !cairn_core::schema::is_nested(p));
            assert_eq!(f.replace.is_some(), top_level, "{type_name}: replace, and create-only properties");
            for p in f.replace.iter().chain(&f.nested_replace) {
                let changes = cairn_core::plan::diff_properties(
                    t.as_ref(),
                    &value(f.update.as_ref().unwrap_or(&f.create)),
                    &value(p),
                );
                assert!(changes.iter().any(|c| c.forces_replacement), "{type_name} replace: {changes:?}");
            }
        }
    }
}
