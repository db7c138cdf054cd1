//! How a failed step reads: the resource, the operation, the error code (or the HTTP status
//! when the answer had none) and the provider's message, on one line.

use cairn_core::exec::StepError;
use cairn_core::plan::Action;
use cairn_core::provider::ProviderError;

fn step(e: ProviderError) -> String {
    StepError::provider("Data", "AWS::S3::Bucket", Action::Create, e).to_string()
}

#[test]
fn a_coded_error_names_the_operation_and_the_code() {
    let e = ProviderError::with_code("AccessDenied", "Access Denied").in_operation("PutBucketEncryption");
    assert_eq!(
        step(ProviderError { status: Some(403), ..e }),
        "Data (AWS::S3::Bucket): create failed: PutBucketEncryption: AccessDenied: Access Denied"
    );
}

#[test]
fn an_answer_without_a_code_shows_its_status() {
    let e = |message: &str| ProviderError {
        message: message.to_string(),
        status: Some(400),
        operation: Some("PutBucketEncryption".into()),
        ..Default::default()
    };
    assert_eq!(
        step(e("")),
        "Data (AWS::S3::Bucket): create failed: PutBucketEncryption: HTTP 400 with no error code and an empty answer"
    );
    assert_eq!(
        step(e("the answer reads \"Bad Request\"")),
        "Data (AWS::S3::Bucket): create failed: PutBucketEncryption: HTTP 400 with no error code: the answer reads \"Bad Request\""
    );
}

#[test]
fn errors_without_operation_or_status_read_as_before() {
    assert_eq!(step(ProviderError::with_code("Injected", "no")), "Data (AWS::S3::Bucket): create failed: Injected: no");
    assert_eq!(step(ProviderError::new("it broke")), "Data (AWS::S3::Bucket): create failed: it broke");
    let transport = ProviderError::new("the connection was reset before an answer came; the call can be retried")
        .in_operation("CreateRole");
    assert_eq!(
        step(transport),
        "Data (AWS::S3::Bucket): create failed: CreateRole: the connection was reset before an answer came; the call can be retried"
    );
}
