//! The `awskms://` secrets provider: envelope encryption with AWS KMS.
//!
//! `awskms://<key id, alias/NAME or key ARN>?region=<region>` (an ARN may also follow a
//! third slash, `awskms:///arn:aws:kms:...`, as Pulumi writes it). Setting up a stack calls
//! `GenerateDataKey` (`AES_256`) with the encryption context `{project, stack}`; the
//! returned ciphertext blob goes into the stack file's `encryptionsalt` as
//! `kms:v1:<ciphertext blob>:<check value>` and the plaintext key seals values as for every
//! provider. Opening a stack calls `Decrypt` with the same encryption context, so the
//! wrapped key of one stack does not open in another. Only AWS credentials with
//! `kms:GenerateDataKey` / `kms:Decrypt` on the key are needed, no passphrase.
//!
//! The region is the URL's `region`, else the region in a key ARN, else the stack's
//! region, else the SDK's default (`AWS_REGION`, profile). `AWS_ENDPOINT_URL` (or
//! `AWS_ENDPOINT_URL_KMS`) points the client at an emulator such as moto.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_kms::config::http::HttpResponse;
use aws_sdk_kms::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;

use super::{b64, check_value, key_from_slice, unb64, verify_check, Provider, SecretsError, SecretsManager, StackRef};

/// A KMS key, as an `awskms://` URL names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KmsKey {
    /// Key id, `alias/NAME`, or key ARN.
    pub key_id: String,
    /// The URL's `region` parameter.
    pub region: Option<String>,
}

impl KmsKey {
    pub fn parse(url: &str) -> Result<KmsKey, SecretsError> {
        let bad = |reason: &str| SecretsError::BadProvider { provider: url.to_string(), reason: reason.to_string() };
        let rest = url.strip_prefix("awskms://").ok_or_else(|| bad("it does not start with `awskms://`"))?;
        let (key, query) = match rest.split_once('?') {
            Some((k, q)) => (k, Some(q)),
            None => (rest, None),
        };
        let key = key.strip_prefix('/').unwrap_or(key);
        if key.is_empty() {
            return Err(bad("it names no key: use `awskms://<key id, alias/NAME or key ARN>?region=<region>`"));
        }
        let mut region = None;
        for pair in query.into_iter().flat_map(|q| q.split('&')).filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("region", r)) if !r.is_empty() => region = Some(r.to_string()),
                _ => return Err(bad(&format!("unknown parameter `{pair}`; the only parameter is `region=<region>`"))),
            }
        }
        Ok(KmsKey { key_id: key.to_string(), region })
    }

    pub fn url(&self) -> String {
        let slash = if self.key_id.starts_with("arn:") { "/" } else { "" };
        match &self.region {
            Some(r) => format!("awskms://{slash}{}?region={r}", self.key_id),
            None => format!("awskms://{slash}{}", self.key_id),
        }
    }

    /// The region to call: the URL's, the key ARN's, or `default`.
    fn region(&self, default: Option<&str>) -> Option<String> {
        self.region
            .clone()
            .or_else(|| {
                let parts: Vec<&str> = self.key_id.split(':').collect();
                (parts.len() >= 6 && parts[0] == "arn" && !parts[3].is_empty()).then(|| parts[3].to_string())
            })
            .or_else(|| default.map(str::to_string))
    }
}

async fn client(key: &KmsKey, default_region: Option<&str>) -> aws_sdk_kms::Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(cairn_aws_errors::retry_config());
    if let Some(r) = key.region(default_region) {
        loader = loader.region(Region::new(r));
    }
    aws_sdk_kms::Client::new(&loader.load().await)
}

fn kms_error<E>(stack: &StackRef, key: &KmsKey, e: SdkError<E, HttpResponse>) -> SecretsError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let e = cairn_aws_errors::sdk_error(e);
    let (stack, key, message) = (stack.stack.clone(), key.url(), e.detail());
    if e.code.is_none() && e.status.is_none() {
        SecretsError::KmsUnreachable { stack, key, message }
    } else {
        SecretsError::Kms { stack, key, message }
    }
}

pub(crate) async fn create(
    stack: StackRef,
    key: KmsKey,
    default_region: Option<&str>,
) -> Result<SecretsManager, SecretsError> {
    let out = client(&key, default_region)
        .await
        .generate_data_key()
        .key_id(&key.key_id)
        .key_spec(DataKeySpec::Aes256)
        .encryption_context("project", &stack.project)
        .encryption_context("stack", &stack.stack)
        .send()
        .await
        .map_err(|e| kms_error(&stack, &key, e))?;
    let missing = |what: &str| SecretsError::Kms {
        stack: stack.stack.clone(),
        key: key.url(),
        message: format!("GenerateDataKey returned no {what}"),
    };
    let blob = out.ciphertext_blob().ok_or_else(|| missing("CiphertextBlob"))?.as_ref().to_vec();
    let data_key =
        out.plaintext().and_then(|p| key_from_slice(p.as_ref())).ok_or_else(|| missing("256-bit Plaintext"))?;
    let salt = format!("kms:v1:{}:{}", b64(&blob), b64(&check_value(&data_key)));
    Ok(SecretsManager::from_parts(stack, Provider::AwsKms(key), salt, data_key))
}

pub(crate) async fn open(
    stack: StackRef,
    key: KmsKey,
    encryptionsalt: &str,
    default_region: Option<&str>,
) -> Result<SecretsManager, SecretsError> {
    let bad = |reason: &str| SecretsError::BadSalt { stack: stack.stack.clone(), reason: reason.to_string() };
    let parts: Vec<&str> = encryptionsalt.trim().split(':').collect();
    let ["kms", "v1", blob, check] = parts[..] else {
        return Err(bad("an `awskms://` stack's salt reads `kms:v1:<ciphertext blob>:<check>`"));
    };
    let (Some(blob), Some(check)) = (unb64(blob), unb64(check)) else {
        return Err(bad("a part is not base64"));
    };
    let out = client(&key, default_region)
        .await
        .decrypt()
        .key_id(&key.key_id)
        .ciphertext_blob(Blob::new(blob))
        .encryption_context("project", &stack.project)
        .encryption_context("stack", &stack.stack)
        .send()
        .await
        .map_err(|e| kms_error(&stack, &key, e))?;
    let data_key = out.plaintext().and_then(|p| key_from_slice(p.as_ref())).ok_or_else(|| SecretsError::Kms {
        stack: stack.stack.clone(),
        key: key.url(),
        message: "Decrypt returned no 256-bit key".into(),
    })?;
    if !verify_check(&data_key, &check) {
        return Err(SecretsError::Decrypt { stack: stack.stack.clone(), what: "the data key".into() });
    }
    Ok(SecretsManager::from_parts(stack, Provider::AwsKms(key), encryptionsalt.trim().to_string(), data_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let k = KmsKey::parse("awskms://alias/cairn?region=eu-west-1").unwrap();
        assert_eq!(k, KmsKey { key_id: "alias/cairn".into(), region: Some("eu-west-1".into()) });
        assert_eq!(k.url(), "awskms://alias/cairn?region=eu-west-1");
        let arn = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        for url in [format!("awskms://{arn}"), format!("awskms:///{arn}")] {
            let k = KmsKey::parse(&url).unwrap();
            assert_eq!(k.key_id, arn);
            assert_eq!(k.region(Some("us-east-1")).as_deref(), Some("us-west-2"));
            assert_eq!(KmsKey::parse(&k.url()).unwrap(), k);
        }
        let k = KmsKey::parse("awskms://1234abcd").unwrap();
        assert_eq!(k.region(Some("us-east-1")).as_deref(), Some("us-east-1"));
        assert_eq!(k.region(None), None);
        for bad in ["awskms://", "awskms://?region=x", "awskms://k?profile=x", "awskms://k?region="] {
            assert!(KmsKey::parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(Provider::parse("awskms://alias/x").unwrap(), Provider::AwsKms(_)));
    }
}
