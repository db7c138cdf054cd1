//! Which AWS operation a request calls, in which protocol, and how that protocol spells an
//! error answer.
//!
//! - JSON protocols (KMS, DynamoDB, ...): the `X-Amz-Target` header, `Service.Operation`.
//! - The query protocol (IAM, STS): the `Action=` parameter of the form body (or of the
//!   query string). EC2 (signed as `ec2`) names its operation the same way but spells its
//!   errors its own way ([`Protocol::Ec2Query`]).
//! - S3's REST-XML: the method, the path (`/`, `/bucket`, `/bucket/key`, path-style
//!   addressing) and the query's sub-resource (`PUT /bucket?encryption` is
//!   `PutBucketEncryption`). The SDK's `x-id` query parameter, when present, names the
//!   operation outright.
//! - Another REST service (named by the request's SigV4 credential scope): the operation
//!   from [`REST_OPERATIONS`] (method and path pattern) where the table has the service,
//!   else `service:METHOD /path`; with REST-JSON errors (Lambda, Scheduler, API Gateway v1 and v2 and Aurora DSQL are in
//!   the table).
//! - CloudFront's REST-XML (signed as `cloudfront`): the operation from
//!   [`CLOUDFRONT_OPERATIONS`] (method and path pattern; `?WithTags` and `?Operation=Tag`
//!   name the variant), with errors wrapped as `<ErrorResponse><Error>..` ([`Protocol::RestXmlWrapped`]).
//! - Route 53 (REST-XML, signed as `route53`): the operation from [`ROUTE53_OPERATIONS`]
//!   (method and path), else `route53:METHOD /path`; its errors wrapped as CloudFront's
//!   ([`Protocol::RestXmlWrapped`], throttling `400 Throttling`), which is how Route 53
//!   answers.

use crate::http::Request;

/// The wire protocol of a request, which decides how an injected error is spelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// S3: `<Error><Code>..</Code>..</Error>`.
    RestXml,
    /// IAM, STS: `<ErrorResponse><Error><Type>..</Type><Code>..</Code>..</Error>..`.
    Query,
    /// EC2's query protocol: `<Response><Errors><Error><Code>..</Code><Message>..</Message></Error></Errors><RequestID>..</RequestID></Response>`.
    Ec2Query,
    /// CloudFront's and Route 53's REST-XML: `<ErrorResponse><Error><Type>..</Type><Code>..</Code>..</Error><RequestId>..</RequestId></ErrorResponse>`.
    RestXmlWrapped,
    /// `awsJson1_0`/`awsJson1_1`: `{"__type": "Code", "message": ..}` and `x-amzn-ErrorType`.
    Json,
    /// REST-JSON services: like JSON, by status code.
    RestJson,
}

/// The protocol and operation name of a request.
pub fn classify(req: &Request) -> (Protocol, String) {
    if let Some(target) = req.header("x-amz-target") {
        let op = target.rsplit('.').next().unwrap_or(target);
        return (Protocol::Json, op.to_string());
    }
    let (path, query) = req.path_and_query();
    let form = req.header("content-type").is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let action = query_param(query, "Action").or_else(|| {
        if form {
            std::str::from_utf8(&req.body).ok().and_then(|b| query_param(b, "Action"))
        } else {
            None
        }
    });
    if let Some(action) = action {
        let protocol =
            if signing_service(req).as_deref() == Some("ec2") { Protocol::Ec2Query } else { Protocol::Query };
        return (protocol, action);
    }
    match signing_service(req).as_deref() {
        Some("route53") => {
            let op = table_operation(&ROUTE53_OPERATIONS, "route53", &req.method, path);
            (Protocol::RestXmlWrapped, op.map_or_else(|| format!("route53:{} {path}", req.method), str::to_string))
        }
        None | Some("s3") => (Protocol::RestXml, s3_operation(&req.method, path, query, req)),
        Some("cloudfront") => {
            let op = cloudfront_operation(&req.method, path, query);
            (Protocol::RestXmlWrapped, op.unwrap_or_else(|| format!("cloudfront:{} {path}", req.method)))
        }
        Some(other) => {
            let op = rest_operation(other, &req.method, path);
            (Protocol::RestJson, op.map_or_else(|| format!("{other}:{} {path}", req.method), str::to_string))
        }
    }
}

/// REST-JSON operations by signing service, method and path pattern (`{}`: one segment).
pub const REST_OPERATIONS: [(&str, &str, &str, &str); 97] = [
    ("lambda", "POST", "/2015-03-31/functions", "CreateFunction"),
    ("lambda", "GET", "/2015-03-31/functions/{}", "GetFunction"),
    ("lambda", "DELETE", "/2015-03-31/functions/{}", "DeleteFunction"),
    ("lambda", "GET", "/2015-03-31/functions/{}/configuration", "GetFunctionConfiguration"),
    ("lambda", "PUT", "/2015-03-31/functions/{}/configuration", "UpdateFunctionConfiguration"),
    ("lambda", "PUT", "/2015-03-31/functions/{}/code", "UpdateFunctionCode"),
    ("lambda", "POST", "/2015-03-31/functions/{}/policy", "AddPermission"),
    ("lambda", "GET", "/2015-03-31/functions/{}/policy", "GetPolicy"),
    ("lambda", "DELETE", "/2015-03-31/functions/{}/policy/{}", "RemovePermission"),
    ("lambda", "GET", "/2017-03-31/tags/{}", "ListTags"),
    ("lambda", "POST", "/2017-03-31/tags/{}", "TagResource"),
    ("lambda", "DELETE", "/2017-03-31/tags/{}", "UntagResource"),
    ("scheduler", "POST", "/schedules/{}", "CreateSchedule"),
    ("scheduler", "GET", "/schedules/{}", "GetSchedule"),
    ("scheduler", "PUT", "/schedules/{}", "UpdateSchedule"),
    ("scheduler", "DELETE", "/schedules/{}", "DeleteSchedule"),
    ("scheduler", "GET", "/schedules", "ListSchedules"),
    ("scheduler", "POST", "/schedule-groups/{}", "CreateScheduleGroup"),
    ("scheduler", "GET", "/schedule-groups/{}", "GetScheduleGroup"),
    ("scheduler", "DELETE", "/schedule-groups/{}", "DeleteScheduleGroup"),
    ("scheduler", "GET", "/schedule-groups", "ListScheduleGroups"),
    ("scheduler", "GET", "/tags/{}", "ListTagsForResource"),
    ("scheduler", "POST", "/tags/{}", "TagResource"),
    ("scheduler", "DELETE", "/tags/{}", "UntagResource"),
    ("apigateway", "POST", "/v2/apis", "CreateApi"),
    ("apigateway", "GET", "/v2/apis", "GetApis"),
    ("apigateway", "GET", "/v2/apis/{}", "GetApi"),
    ("apigateway", "PATCH", "/v2/apis/{}", "UpdateApi"),
    ("apigateway", "DELETE", "/v2/apis/{}", "DeleteApi"),
    ("apigateway", "DELETE", "/v2/apis/{}/cors", "DeleteCorsConfiguration"),
    ("apigateway", "POST", "/v2/apis/{}/integrations", "CreateIntegration"),
    ("apigateway", "GET", "/v2/apis/{}/integrations", "GetIntegrations"),
    ("apigateway", "GET", "/v2/apis/{}/integrations/{}", "GetIntegration"),
    ("apigateway", "PATCH", "/v2/apis/{}/integrations/{}", "UpdateIntegration"),
    ("apigateway", "DELETE", "/v2/apis/{}/integrations/{}", "DeleteIntegration"),
    ("apigateway", "POST", "/v2/apis/{}/authorizers", "CreateAuthorizer"),
    ("apigateway", "GET", "/v2/apis/{}/authorizers", "GetAuthorizers"),
    ("apigateway", "GET", "/v2/apis/{}/authorizers/{}", "GetAuthorizer"),
    ("apigateway", "PATCH", "/v2/apis/{}/authorizers/{}", "UpdateAuthorizer"),
    ("apigateway", "DELETE", "/v2/apis/{}/authorizers/{}", "DeleteAuthorizer"),
    ("apigateway", "POST", "/v2/apis/{}/routes", "CreateRoute"),
    ("apigateway", "GET", "/v2/apis/{}/routes", "GetRoutes"),
    ("apigateway", "GET", "/v2/apis/{}/routes/{}", "GetRoute"),
    ("apigateway", "PATCH", "/v2/apis/{}/routes/{}", "UpdateRoute"),
    ("apigateway", "DELETE", "/v2/apis/{}/routes/{}", "DeleteRoute"),
    ("apigateway", "POST", "/v2/apis/{}/stages", "CreateStage"),
    ("apigateway", "GET", "/v2/apis/{}/stages", "GetStages"),
    ("apigateway", "GET", "/v2/apis/{}/stages/{}", "GetStage"),
    ("apigateway", "PATCH", "/v2/apis/{}/stages/{}", "UpdateStage"),
    ("apigateway", "DELETE", "/v2/apis/{}/stages/{}", "DeleteStage"),
    ("apigateway", "GET", "/v2/tags/{}", "GetTags"),
    ("apigateway", "POST", "/v2/tags/{}", "TagResource"),
    ("apigateway", "DELETE", "/v2/tags/{}", "UntagResource"),
    // API Gateway REST APIs (v1), signed as `apigateway` too.
    ("apigateway", "POST", "/restapis", "CreateRestApi"),
    ("apigateway", "GET", "/restapis", "GetRestApis"),
    ("apigateway", "GET", "/restapis/{}", "GetRestApi"),
    ("apigateway", "PATCH", "/restapis/{}", "UpdateRestApi"),
    ("apigateway", "DELETE", "/restapis/{}", "DeleteRestApi"),
    ("apigateway", "GET", "/restapis/{}/resources", "GetResources"),
    ("apigateway", "POST", "/restapis/{}/resources/{}", "CreateResource"),
    ("apigateway", "GET", "/restapis/{}/resources/{}", "GetResource"),
    ("apigateway", "DELETE", "/restapis/{}/resources/{}", "DeleteResource"),
    ("apigateway", "PUT", "/restapis/{}/resources/{}/methods/{}", "PutMethod"),
    ("apigateway", "GET", "/restapis/{}/resources/{}/methods/{}", "GetMethod"),
    ("apigateway", "PATCH", "/restapis/{}/resources/{}/methods/{}", "UpdateMethod"),
    ("apigateway", "DELETE", "/restapis/{}/resources/{}/methods/{}", "DeleteMethod"),
    ("apigateway", "PUT", "/restapis/{}/resources/{}/methods/{}/responses/{}", "PutMethodResponse"),
    ("apigateway", "PATCH", "/restapis/{}/resources/{}/methods/{}/responses/{}", "UpdateMethodResponse"),
    ("apigateway", "DELETE", "/restapis/{}/resources/{}/methods/{}/responses/{}", "DeleteMethodResponse"),
    ("apigateway", "PUT", "/restapis/{}/resources/{}/methods/{}/integration", "PutIntegration"),
    ("apigateway", "DELETE", "/restapis/{}/resources/{}/methods/{}/integration", "DeleteIntegration"),
    ("apigateway", "PUT", "/restapis/{}/resources/{}/methods/{}/integration/responses/{}", "PutIntegrationResponse"),
    (
        "apigateway",
        "DELETE",
        "/restapis/{}/resources/{}/methods/{}/integration/responses/{}",
        "DeleteIntegrationResponse",
    ),
    ("apigateway", "POST", "/restapis/{}/deployments", "CreateDeployment"),
    ("apigateway", "GET", "/restapis/{}/deployments/{}", "GetDeployment"),
    ("apigateway", "PATCH", "/restapis/{}/deployments/{}", "UpdateDeployment"),
    ("apigateway", "DELETE", "/restapis/{}/deployments/{}", "DeleteDeployment"),
    ("apigateway", "POST", "/restapis/{}/stages", "CreateStage"),
    ("apigateway", "GET", "/restapis/{}/stages/{}", "GetStage"),
    ("apigateway", "PATCH", "/restapis/{}/stages/{}", "UpdateStage"),
    ("apigateway", "DELETE", "/restapis/{}/stages/{}", "DeleteStage"),
    ("apigateway", "GET", "/account", "GetAccount"),
    ("apigateway", "PATCH", "/account", "UpdateAccount"),
    ("apigateway", "PUT", "/tags/{}", "TagResource"),
    ("apigateway", "DELETE", "/tags/{}", "UntagResource"),
    ("dsql", "POST", "/cluster", "CreateCluster"),
    ("dsql", "GET", "/cluster", "ListClusters"),
    ("dsql", "GET", "/cluster/{}", "GetCluster"),
    ("dsql", "POST", "/cluster/{}", "UpdateCluster"),
    ("dsql", "DELETE", "/cluster/{}", "DeleteCluster"),
    ("dsql", "GET", "/cluster/{}/policy", "GetClusterPolicy"),
    ("dsql", "POST", "/cluster/{}/policy", "PutClusterPolicy"),
    ("dsql", "DELETE", "/cluster/{}/policy", "DeleteClusterPolicy"),
    ("dsql", "GET", "/clusters/{}/vpc-endpoint-service-name", "GetVpcEndpointServiceName"),
    ("dsql", "GET", "/tags/{}", "ListTagsForResource"),
    ("dsql", "POST", "/tags/{}", "TagResource"),
    ("dsql", "DELETE", "/tags/{}", "UntagResource"),
];

/// CloudFront operations by method and path pattern (`{}`: one segment), API version
/// 2020-05-31.
pub const CLOUDFRONT_OPERATIONS: [(&str, &str, &str); 14] = [
    ("POST", "/2020-05-31/distribution", "CreateDistribution"),
    ("GET", "/2020-05-31/distribution", "ListDistributions"),
    ("GET", "/2020-05-31/distribution/{}", "GetDistribution"),
    ("DELETE", "/2020-05-31/distribution/{}", "DeleteDistribution"),
    ("GET", "/2020-05-31/distribution/{}/config", "GetDistributionConfig"),
    ("PUT", "/2020-05-31/distribution/{}/config", "UpdateDistribution"),
    ("POST", "/2020-05-31/origin-access-control", "CreateOriginAccessControl"),
    ("GET", "/2020-05-31/origin-access-control", "ListOriginAccessControls"),
    ("GET", "/2020-05-31/origin-access-control/{}", "GetOriginAccessControl"),
    ("DELETE", "/2020-05-31/origin-access-control/{}", "DeleteOriginAccessControl"),
    ("GET", "/2020-05-31/origin-access-control/{}/config", "GetOriginAccessControlConfig"),
    ("PUT", "/2020-05-31/origin-access-control/{}/config", "UpdateOriginAccessControl"),
    ("GET", "/2020-05-31/tagging", "ListTagsForResource"),
    ("POST", "/2020-05-31/tagging", "TagResource"),
];

/// The CloudFront operation of a request, where [`CLOUDFRONT_OPERATIONS`] has it: the
/// query names the variants (`POST /distribution?WithTags`, `POST /tagging?Operation=Untag`).
fn cloudfront_operation(method: &str, path: &str, query: &str) -> Option<String> {
    let op = CLOUDFRONT_OPERATIONS
        .iter()
        .find_map(|(m, pattern, op)| (*m == method && path_matches(pattern, path)).then_some(*op))?;
    Some(match op {
        "CreateDistribution" if has_param(query, "WithTags") => "CreateDistributionWithTags".into(),
        "TagResource" if query_param(query, "Operation").as_deref() == Some("Untag") => "UntagResource".into(),
        other => other.into(),
    })
}

/// Whether `path` has the shape of `pattern` (`{}`: one non-empty segment).
fn path_matches(pattern: &str, path: &str) -> bool {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let want: Vec<&str> = pattern.trim_matches('/').split('/').collect();
    want.len() == segments.len() && want.iter().zip(&segments).all(|(w, s)| (*w == "{}" && !s.is_empty()) || w == s)
}

/// Route 53's REST-XML operations by method and path pattern (`{}`: one segment), as
/// aws-sdk-route53 calls them (ids without their `/hostedzone/` prefix).
pub const ROUTE53_OPERATIONS: [(&str, &str, &str, &str); 14] = [
    ("route53", "POST", "/2013-04-01/hostedzone", "CreateHostedZone"),
    ("route53", "GET", "/2013-04-01/hostedzone", "ListHostedZones"),
    ("route53", "GET", "/2013-04-01/hostedzone/{}", "GetHostedZone"),
    ("route53", "POST", "/2013-04-01/hostedzone/{}", "UpdateHostedZoneComment"),
    ("route53", "DELETE", "/2013-04-01/hostedzone/{}", "DeleteHostedZone"),
    ("route53", "POST", "/2013-04-01/hostedzone/{}/rrset", "ChangeResourceRecordSets"),
    ("route53", "GET", "/2013-04-01/hostedzone/{}/rrset", "ListResourceRecordSets"),
    ("route53", "POST", "/2013-04-01/hostedzone/{}/associatevpc", "AssociateVPCWithHostedZone"),
    ("route53", "POST", "/2013-04-01/hostedzone/{}/disassociatevpc", "DisassociateVPCFromHostedZone"),
    ("route53", "GET", "/2013-04-01/hostedzonesbyname", "ListHostedZonesByName"),
    ("route53", "GET", "/2013-04-01/change/{}", "GetChange"),
    ("route53", "GET", "/2013-04-01/tags/{}/{}", "ListTagsForResource"),
    ("route53", "POST", "/2013-04-01/tags/{}/{}", "ChangeTagsForResource"),
    ("route53", "POST", "/2013-04-01/tags/{}", "ListTagsForResources"),
];

/// The operation of a REST-JSON request, where [`REST_OPERATIONS`] has it.
fn rest_operation(service: &str, method: &str, path: &str) -> Option<&'static str> {
    table_operation(&REST_OPERATIONS, service, method, path)
}

/// The operation of a REST request in a table of (service, method, path pattern, operation).
fn table_operation(
    table: &[(&str, &str, &str, &'static str)],
    service: &str,
    method: &str,
    path: &str,
) -> Option<&'static str> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    table.iter().find_map(|(svc, m, pattern, op)| {
        let want: Vec<&str> = pattern.trim_matches('/').split('/').collect();
        let matches = *svc == service
            && *m == method
            && want.len() == segments.len()
            && want.iter().zip(&segments).all(|(w, s)| (*w == "{}" && !s.is_empty()) || w == s);
        matches.then_some(*op)
    })
}

/// The service in the request's SigV4 credential scope (`Credential=AKID/date/region/SERVICE/aws4_request`).
fn signing_service(req: &Request) -> Option<String> {
    let auth = req.header("authorization")?;
    let cred = auth.split("Credential=").nth(1)?;
    let scope = cred.split([',', ' ']).next()?;
    scope.split('/').nth(3).map(str::to_string)
}

/// The value of `key` in a `a=b&c=d` string, percent-decoded.
pub fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == key).then(|| percent_decode(v))
    })
}

fn has_param(query: &str, key: &str) -> bool {
    query.split('&').any(|pair| percent_decode(pair.split_once('=').map_or(pair, |(k, _)| k)) == key)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                match u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Bucket sub-resources: (query key, PUT, GET, DELETE, POST).
const BUCKET_SUBRESOURCES: [(&str, &str, &str, &str, &str); 22] = [
    ("encryption", "PutBucketEncryption", "GetBucketEncryption", "DeleteBucketEncryption", ""),
    ("versioning", "PutBucketVersioning", "GetBucketVersioning", "", ""),
    ("tagging", "PutBucketTagging", "GetBucketTagging", "DeleteBucketTagging", ""),
    ("lifecycle", "PutBucketLifecycleConfiguration", "GetBucketLifecycleConfiguration", "DeleteBucketLifecycle", ""),
    ("cors", "PutBucketCors", "GetBucketCors", "DeleteBucketCors", ""),
    ("publicAccessBlock", "PutPublicAccessBlock", "GetPublicAccessBlock", "DeletePublicAccessBlock", ""),
    (
        "ownershipControls",
        "PutBucketOwnershipControls",
        "GetBucketOwnershipControls",
        "DeleteBucketOwnershipControls",
        "",
    ),
    ("policyStatus", "", "GetBucketPolicyStatus", "", ""),
    ("policy", "PutBucketPolicy", "GetBucketPolicy", "DeleteBucketPolicy", ""),
    ("acl", "PutBucketAcl", "GetBucketAcl", "", ""),
    ("location", "", "GetBucketLocation", "", ""),
    ("logging", "PutBucketLogging", "GetBucketLogging", "", ""),
    ("website", "PutBucketWebsite", "GetBucketWebsite", "DeleteBucketWebsite", ""),
    ("notification", "PutBucketNotificationConfiguration", "GetBucketNotificationConfiguration", "", ""),
    ("replication", "PutBucketReplication", "GetBucketReplication", "DeleteBucketReplication", ""),
    ("accelerate", "PutBucketAccelerateConfiguration", "GetBucketAccelerateConfiguration", "", ""),
    ("requestPayment", "PutBucketRequestPayment", "GetBucketRequestPayment", "", ""),
    ("object-lock", "PutObjectLockConfiguration", "GetObjectLockConfiguration", "", ""),
    (
        "intelligent-tiering",
        "PutBucketIntelligentTieringConfiguration",
        "GetBucketIntelligentTieringConfiguration",
        "DeleteBucketIntelligentTieringConfiguration",
        "",
    ),
    ("versions", "", "ListObjectVersions", "", ""),
    ("uploads", "", "ListMultipartUploads", "", ""),
    ("delete", "", "", "", "DeleteObjects"),
];

/// Object sub-resources: (query key, PUT, GET, DELETE, POST).
const OBJECT_SUBRESOURCES: [(&str, &str, &str, &str, &str); 7] = [
    ("uploadId", "UploadPart", "ListParts", "AbortMultipartUpload", "CompleteMultipartUpload"),
    ("uploads", "", "", "", "CreateMultipartUpload"),
    ("tagging", "PutObjectTagging", "GetObjectTagging", "DeleteObjectTagging", ""),
    ("acl", "PutObjectAcl", "GetObjectAcl", "", ""),
    ("retention", "PutObjectRetention", "GetObjectRetention", "", ""),
    ("legal-hold", "PutObjectLegalHold", "GetObjectLegalHold", "", ""),
    ("attributes", "", "GetObjectAttributes", "", ""),
];

/// The S3 operation of a path-style request.
pub fn s3_operation(method: &str, path: &str, query: &str, req: &Request) -> String {
    if let Some(id) = query_param(query, "x-id") {
        return id;
    }
    let trimmed = path.trim_start_matches('/');
    let (bucket, key) = match trimmed.split_once('/') {
        Some((b, k)) => (b, k),
        None => (trimmed, ""),
    };
    let pick = |table: &[(&str, &str, &str, &str, &str)]| -> Option<String> {
        table.iter().find(|row| has_param(query, row.0)).map(|row| {
            let op = match method {
                "PUT" => row.1,
                "GET" => row.2,
                "DELETE" => row.3,
                "POST" => row.4,
                _ => "",
            };
            if op.is_empty() {
                format!("{method} ?{}", row.0)
            } else {
                op.to_string()
            }
        })
    };
    let copy = req.header("x-amz-copy-source").is_some();
    let op = if bucket.is_empty() {
        match method {
            "GET" => "ListBuckets",
            _ => "",
        }
    } else if key.is_empty() {
        if let Some(op) = pick(&BUCKET_SUBRESOURCES) {
            return op;
        }
        match method {
            "PUT" => "CreateBucket",
            "HEAD" => "HeadBucket",
            "DELETE" => "DeleteBucket",
            "GET" if query_param(query, "list-type").as_deref() == Some("2") => "ListObjectsV2",
            "GET" => "ListObjects",
            _ => "",
        }
    } else {
        if let Some(op) = pick(&OBJECT_SUBRESOURCES) {
            return if op == "UploadPart" && copy { "UploadPartCopy".to_string() } else { op };
        }
        match method {
            "PUT" if copy => "CopyObject",
            "PUT" => "PutObject",
            "GET" => "GetObject",
            "HEAD" => "HeadObject",
            "DELETE" => "DeleteObject",
            _ => "",
        }
    };
    if op.is_empty() {
        format!("{method} {path}")
    } else {
        op.to_string()
    }
}

/// An error answer in the protocol's own format: status, extra headers and body.
pub fn error_answer(
    protocol: Protocol,
    status: u16,
    code: &str,
    message: &str,
    request_id: &str,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let xml = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    match protocol {
        Protocol::RestXml => {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><RequestId>{request_id}</RequestId><HostId>{request_id}</HostId></Error>",
                xml(code),
                xml(message)
            );
            (
                status,
                vec![("Content-Type".into(), "application/xml".into()), ("x-amz-request-id".into(), request_id.into())],
                body.into_bytes(),
            )
        }
        Protocol::RestXmlWrapped => {
            let kind = if status >= 500 { "Receiver" } else { "Sender" };
            let body = format!(
                "<?xml version=\"1.0\"?>\n<ErrorResponse><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
                xml(code),
                xml(message)
            );
            (
                status,
                vec![("Content-Type".into(), "text/xml".into()), ("x-amzn-RequestId".into(), request_id.into())],
                body.into_bytes(),
            )
        }
        Protocol::Query => {
            let kind = if status >= 500 { "Receiver" } else { "Sender" };
            let body = format!(
                "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
                xml(code),
                xml(message)
            );
            (
                status,
                vec![("Content-Type".into(), "text/xml".into()), ("x-amzn-RequestId".into(), request_id.into())],
                body.into_bytes(),
            )
        }
        Protocol::Ec2Query => {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code><Message>{}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>",
                xml(code),
                xml(message)
            );
            (status, vec![("Content-Type".into(), "text/xml;charset=UTF-8".into())], body.into_bytes())
        }
        Protocol::Json | Protocol::RestJson => {
            let body = serde_json::json!({"__type": code, "message": message}).to_string();
            let content_type =
                if protocol == Protocol::Json { "application/x-amz-json-1.1" } else { "application/json" };
            (
                status,
                vec![
                    ("Content-Type".into(), content_type.into()),
                    ("x-amzn-ErrorType".into(), code.into()),
                    ("x-amzn-RequestId".into(), request_id.into()),
                ],
                body.into_bytes(),
            )
        }
    }
}

/// Throttling, as each protocol's service says it: S3 `503 SlowDown`, query `400
/// Throttling`, EC2 `503 RequestLimitExceeded`, JSON `400 ThrottlingException`, REST-JSON
/// `429 TooManyRequestsException`.
pub fn throttle(protocol: Protocol) -> (u16, &'static str, &'static str) {
    match protocol {
        Protocol::RestXml => (503, "SlowDown", "Please reduce your request rate."),
        Protocol::Query | Protocol::RestXmlWrapped => (400, "Throttling", "Rate exceeded"),
        Protocol::Ec2Query => (503, "RequestLimitExceeded", "Request limit exceeded."),
        Protocol::Json => (400, "ThrottlingException", "Rate exceeded"),
        Protocol::RestJson => (429, "TooManyRequestsException", "Rate exceeded"),
    }
}

/// An internal error, as each protocol's service says it.
pub fn internal_error(protocol: Protocol) -> (&'static str, &'static str) {
    match protocol {
        Protocol::RestXml => ("InternalError", "We encountered an internal error. Please try again."),
        Protocol::Ec2Query => ("InternalError", "An internal error has occurred."),
        Protocol::Query | Protocol::RestXmlWrapped | Protocol::Json | Protocol::RestJson => {
            ("InternalFailure", "The request processing has failed because of an unknown error, exception or failure.")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> Request {
        Request {
            method: method.into(),
            target: target.into(),
            headers: headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            head: Vec::new(),
            raw_body: body.as_bytes().to_vec(),
            body: body.as_bytes().to_vec(),
        }
    }

    const S3_AUTH: (&str, &str) = (
        "Authorization",
        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x",
    );

    #[test]
    fn s3_operations_from_method_path_and_subresource() {
        for (method, target, op) in [
            ("PUT", "/data", "CreateBucket"),
            ("HEAD", "/data", "HeadBucket"),
            ("DELETE", "/data", "DeleteBucket"),
            ("GET", "/", "ListBuckets"),
            ("GET", "/data?list-type=2&prefix=a", "ListObjectsV2"),
            ("PUT", "/data?encryption", "PutBucketEncryption"),
            ("GET", "/data?encryption", "GetBucketEncryption"),
            ("DELETE", "/data?encryption", "DeleteBucketEncryption"),
            ("PUT", "/data?versioning", "PutBucketVersioning"),
            ("PUT", "/data?tagging", "PutBucketTagging"),
            ("GET", "/data?tagging", "GetBucketTagging"),
            ("PUT", "/data?lifecycle", "PutBucketLifecycleConfiguration"),
            ("DELETE", "/data?lifecycle", "DeleteBucketLifecycle"),
            ("PUT", "/data?publicAccessBlock", "PutPublicAccessBlock"),
            ("GET", "/data?ownershipControls", "GetBucketOwnershipControls"),
            ("PUT", "/data?cors", "PutBucketCors"),
            ("PUT", "/data?policy", "PutBucketPolicy"),
            ("GET", "/data?policyStatus", "GetBucketPolicyStatus"),
            ("POST", "/data?delete", "DeleteObjects"),
            ("PUT", "/data/a/b.json", "PutObject"),
            ("GET", "/data/a/b.json", "GetObject"),
            ("HEAD", "/data/a/b.json", "HeadObject"),
            ("DELETE", "/data/a/b.json", "DeleteObject"),
            ("GET", "/data/a?tagging", "GetObjectTagging"),
            ("POST", "/data/a?uploads", "CreateMultipartUpload"),
            ("PUT", "/data/a?partNumber=1&uploadId=x", "UploadPart"),
            ("GET", "/data/a?x-id=GetObject", "GetObject"),
            ("PATCH", "/data", "PATCH /data"),
        ] {
            assert_eq!(
                classify(&req(method, target, &[S3_AUTH], "")),
                (Protocol::RestXml, op.to_string()),
                "{method} {target}"
            );
        }
        let copy = req("PUT", "/data/b", &[S3_AUTH, ("x-amz-copy-source", "/data/a")], "");
        assert_eq!(classify(&copy).1, "CopyObject");
    }

    #[test]
    fn query_and_json_operations() {
        let form = ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
        assert_eq!(
            classify(&req("POST", "/", &[form], "Action=CreateRole&Version=2010-05-08&RoleName=r")),
            (Protocol::Query, "CreateRole".to_string())
        );
        assert_eq!(
            classify(&req("POST", "/", &[form], "Version=2011-06-15&Action=GetCallerIdentity")),
            (Protocol::Query, "GetCallerIdentity".to_string())
        );
        assert_eq!(classify(&req("GET", "/?Action=ListRoles&Version=1", &[], "")).1, "ListRoles");
        let ec2 = (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=x",
        );
        assert_eq!(
            classify(&req("POST", "/", &[form, ec2], "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16")),
            (Protocol::Ec2Query, "CreateVpc".to_string())
        );
        assert_eq!(
            classify(&req("POST", "/", &[("X-Amz-Target", "TrentService.GenerateDataKey")], "{}")),
            (Protocol::Json, "GenerateDataKey".to_string())
        );
        let lambda = (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/lambda/aws4_request, SignedHeaders=host, Signature=x",
        );
        assert_eq!(
            classify(&req("GET", "/2015-03-31/functions/f", &[lambda], "")),
            (Protocol::RestJson, "GetFunction".to_string())
        );
        let scheduler = (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/scheduler/aws4_request, SignedHeaders=host, Signature=x",
        );
        for (method, target, op) in [
            ("POST", "/schedules/nightly", "CreateSchedule"),
            ("PUT", "/schedules/nightly?groupName=g", "UpdateSchedule"),
            ("GET", "/schedules?groupName=g", "ListSchedules"),
            ("DELETE", "/schedule-groups/g", "DeleteScheduleGroup"),
            (
                "GET",
                "/tags/arn%3Aaws%3Ascheduler%3Aus-east-1%3A123456789012%3Aschedule-group%2Fg",
                "ListTagsForResource",
            ),
            ("PATCH", "/schedules/nightly", "scheduler:PATCH /schedules/nightly"),
            ("GET", "/schedules/a/b", "scheduler:GET /schedules/a/b"),
        ] {
            assert_eq!(
                classify(&req(method, target, &[scheduler], "")),
                (Protocol::RestJson, op.to_string()),
                "{method} {target}"
            );
        }
        assert_eq!(
            classify(&req("GET", "/2015-03-31/layers/l/versions", &[lambda], "")),
            (Protocol::RestJson, "lambda:GET /2015-03-31/layers/l/versions".to_string())
        );
        assert_eq!(
            rest_operation("lambda", "GET", "/2015-03-31/functions/f/configuration"),
            Some("GetFunctionConfiguration")
        );
        assert_eq!(
            rest_operation("lambda", "PUT", "/2015-03-31/functions/f/configuration"),
            Some("UpdateFunctionConfiguration")
        );
        assert_eq!(rest_operation("lambda", "POST", "/2015-03-31/functions"), Some("CreateFunction"));
        assert_eq!(rest_operation("lambda", "DELETE", "/2015-03-31/functions/f/policy/sid"), Some("RemovePermission"));
        let arn = "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af";
        assert_eq!(rest_operation("lambda", "POST", arn), Some("TagResource"));
        assert_eq!(rest_operation("lambda", "GET", "/2015-03-31/functions//configuration"), None);
        // API Gateway v2 (signed as `apigateway`): sub-resources by API id, tags by ARN.
        assert_eq!(rest_operation("apigateway", "POST", "/v2/apis"), Some("CreateApi"));
        assert_eq!(rest_operation("apigateway", "DELETE", "/v2/apis/a1b2c3/cors"), Some("DeleteCorsConfiguration"));
        assert_eq!(rest_operation("apigateway", "PATCH", "/v2/apis/a1b2c3/routes/r1"), Some("UpdateRoute"));
        assert_eq!(rest_operation("apigateway", "GET", "/v2/apis/a1b2c3/stages/%24default"), Some("GetStage"));
        let arn = "/v2/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Fapis%2Fa1b2c3";
        assert_eq!(rest_operation("apigateway", "DELETE", arn), Some("UntagResource"));
        // API Gateway v1 (also `apigateway`): methods, their responses and integrations by path.
        assert_eq!(rest_operation("apigateway", "POST", "/restapis/a1b2c3/resources/r00t"), Some("CreateResource"));
        let method = "/restapis/a1b2c3/resources/r1/methods/OPTIONS";
        assert_eq!(rest_operation("apigateway", "PUT", method), Some("PutMethod"));
        assert_eq!(rest_operation("apigateway", "PUT", &format!("{method}/responses/200")), Some("PutMethodResponse"));
        assert_eq!(
            rest_operation("apigateway", "PUT", &format!("{method}/integration/responses/200")),
            Some("PutIntegrationResponse")
        );
        assert_eq!(rest_operation("apigateway", "PATCH", "/restapis/a1b2c3/stages/v1"), Some("UpdateStage"));
        assert_eq!(rest_operation("apigateway", "PATCH", "/account"), Some("UpdateAccount"));
        let arn = "/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Frestapis%2Fa1b2c3";
        assert_eq!(rest_operation("apigateway", "PUT", arn), Some("TagResource"));
    }

    #[test]
    fn cloudfront_operations_and_errors() {
        let cf = (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/cloudfront/aws4_request, SignedHeaders=host, Signature=x",
        );
        for (method, target, op) in [
            ("POST", "/2020-05-31/distribution?WithTags", "CreateDistributionWithTags"),
            ("POST", "/2020-05-31/distribution", "CreateDistribution"),
            ("GET", "/2020-05-31/distribution/E2ABC", "GetDistribution"),
            ("GET", "/2020-05-31/distribution/E2ABC/config", "GetDistributionConfig"),
            ("PUT", "/2020-05-31/distribution/E2ABC/config", "UpdateDistribution"),
            ("DELETE", "/2020-05-31/distribution/E2ABC", "DeleteDistribution"),
            ("GET", "/2020-05-31/distribution?MaxItems=100", "ListDistributions"),
            ("POST", "/2020-05-31/origin-access-control", "CreateOriginAccessControl"),
            ("PUT", "/2020-05-31/origin-access-control/O1/config", "UpdateOriginAccessControl"),
            ("DELETE", "/2020-05-31/origin-access-control/O1", "DeleteOriginAccessControl"),
            (
                "GET",
                "/2020-05-31/tagging?Resource=arn%3Aaws%3Acloudfront%3A%3A1%3Adistribution%2FE2ABC",
                "ListTagsForResource",
            ),
            ("POST", "/2020-05-31/tagging?Operation=Tag&Resource=x", "TagResource"),
            ("POST", "/2020-05-31/tagging?Operation=Untag&Resource=x", "UntagResource"),
            ("GET", "/2020-05-31/function/f", "cloudfront:GET /2020-05-31/function/f"),
        ] {
            assert_eq!(
                classify(&req(method, target, &[cf], "")),
                (Protocol::RestXmlWrapped, op.to_string()),
                "{method} {target}"
            );
        }
        let (status, headers, body) =
            error_answer(Protocol::RestXmlWrapped, 403, "AccessDenied", "Access <Denied>", "R5");
        assert_eq!(status, 403);
        assert!(headers.contains(&("Content-Type".into(), "text/xml".into())));
        assert!(String::from_utf8(body).unwrap().contains(
            "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Access &lt;Denied&gt;</Message></Error><RequestId>R5</RequestId></ErrorResponse>"
        ));
        assert_eq!(throttle(Protocol::RestXmlWrapped), (400, "Throttling", "Rate exceeded"));
    }

    #[test]
    fn route53_operations_and_error_format() {
        let route53 = (
            "Authorization",
            "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/route53/aws4_request, SignedHeaders=host, Signature=x",
        );
        for (method, target, op) in [
            ("POST", "/2013-04-01/hostedzone", "CreateHostedZone"),
            ("GET", "/2013-04-01/hostedzone?maxitems=100", "ListHostedZones"),
            ("GET", "/2013-04-01/hostedzone/Z123", "GetHostedZone"),
            ("POST", "/2013-04-01/hostedzone/Z123", "UpdateHostedZoneComment"),
            ("DELETE", "/2013-04-01/hostedzone/Z123", "DeleteHostedZone"),
            ("POST", "/2013-04-01/hostedzone/Z123/rrset/", "ChangeResourceRecordSets"),
            ("GET", "/2013-04-01/hostedzone/Z123/rrset?name=a.example.com&type=A", "ListResourceRecordSets"),
            ("POST", "/2013-04-01/hostedzone/Z123/associatevpc", "AssociateVPCWithHostedZone"),
            ("GET", "/2013-04-01/change/C42", "GetChange"),
            ("GET", "/2013-04-01/tags/hostedzone/Z123", "ListTagsForResource"),
            ("POST", "/2013-04-01/tags/hostedzone/Z123", "ChangeTagsForResource"),
            ("GET", "/2013-04-01/healthcheck", "route53:GET /2013-04-01/healthcheck"),
        ] {
            assert_eq!(
                classify(&req(method, target, &[route53], "")),
                (Protocol::RestXmlWrapped, op.to_string()),
                "{method} {target}"
            );
        }
    }

    #[test]
    fn errors_in_each_protocols_format() {
        let (status, headers, body) = error_answer(Protocol::RestXml, 503, "SlowDown", "Please <slow>", "R1");
        assert_eq!(status, 503);
        let body = String::from_utf8(body).unwrap();
        assert!(body.contains("<Error><Code>SlowDown</Code><Message>Please &lt;slow&gt;</Message>"), "{body}");
        assert!(headers.contains(&("Content-Type".into(), "application/xml".into())));
        let (_, _, body) = error_answer(Protocol::Query, 400, "Throttling", "Rate exceeded", "R2");
        let body = String::from_utf8(body).unwrap();
        assert!(body.starts_with("<ErrorResponse"), "{body}");
        assert!(
            body.contains("<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>")
        );
        let (_, _, body) = error_answer(Protocol::Query, 500, "InternalFailure", "x", "R2");
        assert!(String::from_utf8(body).unwrap().contains("<Type>Receiver</Type>"));
        // EC2: `Response/Errors/Error`, `RequestID` spelled so (what aws-sdk-ec2's
        // `ec2_query_errors` reads; `tests/proxy.rs` checks it through the SDK).
        let (status, headers, body) =
            error_answer(Protocol::Ec2Query, 403, "UnauthorizedOperation", "You are not <authorized>", "R4");
        assert_eq!(status, 403);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not &lt;authorized&gt;</Message></Error></Errors><RequestID>R4</RequestID></Response>"
        );
        assert!(headers.contains(&("Content-Type".into(), "text/xml;charset=UTF-8".into())));
        assert_eq!(throttle(Protocol::Ec2Query), (503, "RequestLimitExceeded", "Request limit exceeded."));
        assert_eq!(internal_error(Protocol::Ec2Query).0, "InternalError");
        let (status, headers, body) = error_answer(Protocol::Json, 400, "ThrottlingException", "Rate exceeded", "R3");
        assert_eq!(status, 400);
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).unwrap(),
            serde_json::json!({"__type": "ThrottlingException", "message": "Rate exceeded"})
        );
        assert!(headers.contains(&("x-amzn-ErrorType".into(), "ThrottlingException".into())));
        assert_eq!(throttle(Protocol::RestXml), (503, "SlowDown", "Please reduce your request rate."));
        assert_eq!(throttle(Protocol::Query).0, 400);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(query_param("a=1&Action=Get%43aller+x&b", "Action").as_deref(), Some("GetCaller x"));
        assert_eq!(query_param("encryption", "encryption").as_deref(), Some(""));
        assert_eq!(query_param("x=%zz%", "x").as_deref(), Some("%zz%"));
    }
}
