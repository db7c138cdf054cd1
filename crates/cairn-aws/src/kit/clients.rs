//! One client per service and region, made on first use from the shared SDK configuration
//! ([`crate::Aws::client`]). A service is a [`Service`]: how its client is built from an
//! `SdkConfig` (the region, the call counter, S3's path-style addressing with an endpoint
//! URL, a global service's signing region). Adding a service is one `service!` line here,
//! behind its cargo feature.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::{Region, SdkConfig};

/// What building a client needs besides the `SdkConfig`.
#[derive(Clone, Copy, Debug)]
pub struct Build<'a> {
    /// The region the client calls (a global service's: its signing region).
    pub region: &'a str,
    /// Whether an endpoint URL overrides AWS's (S3 then uses path-style addressing).
    pub custom_endpoint: bool,
    /// Whether to count calls (`CAIRN_COUNT_API_CALLS=1`).
    pub count: bool,
}

/// An SDK client cairn can make.
pub trait Service: Clone + Send + Sync + 'static {
    /// For a global service (IAM, CloudFront, Route 53): the region its calls are signed
    /// for, given the stack's region (its partition decides). `None` for regional ones.
    fn global_region(_region: &str) -> Option<&'static str> {
        None
    }
    fn build(config: &SdkConfig, b: Build<'_>) -> Self;
}

/// The signing region of a global service in the partition of `region`.
pub fn partition_home(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "cn-north-1"
    } else if region.starts_with("us-gov-") {
        "us-gov-west-1"
    } else {
        "us-east-1"
    }
}

/// `service!(crate, REGIONAL | GLOBAL, tweak)`: a service's client, built from the shared
/// configuration; `tweak` adjusts its config builder (S3's path-style addressing).
macro_rules! service {
    ($krate:ident, $scope:expr, $tweak:expr) => {
        impl Service for $krate::Client {
            fn global_region(region: &str) -> Option<&'static str> {
                ($scope)(region)
            }
            fn build(config: &SdkConfig, b: Build<'_>) -> Self {
                let mut conf = $krate::config::Builder::from(config);
                if !b.region.is_empty() {
                    conf = conf.region(Region::new(b.region.to_string()));
                }
                if b.count {
                    conf = conf.interceptor(crate::api_calls::CountCalls);
                }
                conf = ($tweak)(conf, b);
                $krate::Client::from_conf(conf.build())
            }
        }
    };
}

/// A regional service: one client per region.
const REGIONAL: fn(&str) -> Option<&'static str> = |_| None;
/// A global service: signed in its partition's home region.
#[allow(dead_code)]
const GLOBAL: fn(&str) -> Option<&'static str> = |r| Some(partition_home(r));
fn as_is<B>(conf: B, _: Build<'_>) -> B {
    conf
}

service!(aws_sdk_sts, REGIONAL, as_is);
#[cfg(feature = "s3")]
service!(aws_sdk_s3, REGIONAL, |c: aws_sdk_s3::config::Builder, b: Build<'_>| c.force_path_style(b.custom_endpoint));
#[cfg(feature = "iam")]
service!(aws_sdk_iam, GLOBAL, as_is);
#[cfg(feature = "sqs")]
service!(aws_sdk_sqs, REGIONAL, as_is);
#[cfg(feature = "sns")]
service!(aws_sdk_sns, REGIONAL, as_is);
#[cfg(feature = "dynamodb")]
service!(aws_sdk_dynamodb, REGIONAL, as_is);
#[cfg(feature = "cloudwatch")]
service!(aws_sdk_cloudwatch, REGIONAL, as_is);
#[cfg(feature = "scheduler")]
service!(aws_sdk_scheduler, REGIONAL, as_is);
#[cfg(feature = "logs")]
service!(aws_sdk_cloudwatchlogs, REGIONAL, as_is);
#[cfg(feature = "lambda")]
service!(aws_sdk_lambda, REGIONAL, as_is);
#[cfg(feature = "apigatewayv2")]
service!(aws_sdk_apigatewayv2, REGIONAL, as_is);
#[cfg(feature = "cognito")]
service!(aws_sdk_cognitoidentityprovider, REGIONAL, as_is);
#[cfg(feature = "ec2")]
service!(aws_sdk_ec2, REGIONAL, as_is);
#[cfg(feature = "rds")]
service!(aws_sdk_rds, REGIONAL, as_is);
#[cfg(feature = "ssm")]
service!(aws_sdk_ssm, REGIONAL, as_is);
#[cfg(feature = "ecr")]
service!(aws_sdk_ecr, REGIONAL, as_is);
#[cfg(feature = "apigateway")]
service!(aws_sdk_apigateway, REGIONAL, as_is);
#[cfg(feature = "cloudfront")]
service!(aws_sdk_cloudfront, GLOBAL, as_is);
#[cfg(feature = "acm")]
service!(aws_sdk_acm, REGIONAL, as_is);
#[cfg(feature = "route53")]
service!(aws_sdk_route53, GLOBAL, as_is);
#[cfg(feature = "dsql")]
service!(aws_sdk_dsql, REGIONAL, as_is);
#[cfg(feature = "kms")]
service!(aws_sdk_kms, REGIONAL, as_is);

/// The cache: one client per (service, region).
#[derive(Default)]
pub struct Clients {
    made: Mutex<HashMap<(TypeId, String), Box<dyn Any + Send + Sync>>>,
}

impl Clients {
    /// The client of service `C` for `region` (made once).
    pub fn get<C: Service>(&self, config: &SdkConfig, region: &str, custom_endpoint: bool) -> C {
        let region = C::global_region(region).unwrap_or(region);
        let mut made = self.made.lock().unwrap_or_else(|p| p.into_inner());
        made.entry((TypeId::of::<C>(), region.to_string()))
            .or_insert_with(|| {
                Box::new(C::build(config, Build { region, custom_endpoint, count: crate::api_calls::enabled() }))
            })
            .downcast_ref::<C>()
            .expect("the cache keys clients by their type")
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_client_per_service_and_region_and_global_services_sign_at_home() {
        let config = SdkConfig::builder().behavior_version(aws_config::BehaviorVersion::latest()).build();
        let clients = Clients::default();
        let a: aws_sdk_sts::Client = clients.get(&config, "eu-west-1", false);
        let _: aws_sdk_sts::Client = clients.get(&config, "eu-west-1", false);
        let _: aws_sdk_sts::Client = clients.get(&config, "us-west-2", false);
        assert_eq!(a.config().region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(clients.made.lock().unwrap().len(), 2);
        #[cfg(feature = "iam")]
        {
            let iam: aws_sdk_iam::Client = clients.get(&config, "eu-west-1", false);
            let _: aws_sdk_iam::Client = clients.get(&config, "ap-south-1", false);
            assert_eq!(iam.config().region().map(|r| r.as_ref()), Some("us-east-1"));
            assert_eq!(clients.made.lock().unwrap().len(), 3);
            let cn: aws_sdk_iam::Client = clients.get(&config, "cn-northwest-1", false);
            assert_eq!(cn.config().region().map(|r| r.as_ref()), Some("cn-north-1"));
        }
    }
}
