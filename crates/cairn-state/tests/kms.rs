//! The `awskms://` secrets provider against moto (`scripts/moto.sh`): set up, reopen,
//! stack binding through the encryption context.

use cairn_core::Value;
use cairn_state::secrets::{PassphraseSource, Provider, SecretsError, SecretsManager, StackRef};
use secrecy::SecretString;

/// KMS stacks never ask for a passphrase.
struct NoPassphrase;
impl PassphraseSource for NoPassphrase {
    fn passphrase(&self, stack: &str, _: bool) -> Result<SecretString, SecretsError> {
        panic!("a KMS stack asked for a passphrase (stack {stack})")
    }
}

/// A new KMS key in the emulator, or `None` (after saying so) when none is configured.
async fn new_key() -> Option<String> {
    let Ok(url) = std::env::var("AWS_ENDPOINT_URL") else {
        assert!(
            std::env::var_os("CAIRN_REQUIRE_EMULATOR").is_none(),
            "AWS_ENDPOINT_URL is not set, but CAIRN_REQUIRE_EMULATOR is: scripts/test.sh should have started moto"
        );
        eprintln!("skipping: AWS_ENDPOINT_URL not set (run via scripts/test.sh)");
        return None;
    };
    assert!(url.starts_with("http://127.0.0.1") || url.starts_with("http://localhost"), "not a local emulator: {url}");
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    let kms = aws_sdk_kms::Client::new(&config);
    let key = kms.create_key().description("cairn secrets test").send().await.expect("CreateKey");
    Some(key.key_metadata().expect("metadata").key_id().to_string())
}

#[tokio::test]
async fn kms_stacks_seal_and_reopen_without_a_passphrase() {
    let Some(key_id) = new_key().await else { return };
    let provider = Provider::parse(&format!("awskms://{key_id}?region=us-east-1")).unwrap();
    let dev = StackRef::new("proj", "dev");
    let m = SecretsManager::create(dev.clone(), provider.clone(), &NoPassphrase, None).await.unwrap();
    assert!(m.encryptionsalt().starts_with("kms:v1:"), "{}", m.encryptionsalt());
    let ct = m.seal_value(&Value::string("hunter2"));

    let url = provider.url();
    let again = SecretsManager::load(dev, &url, m.encryptionsalt(), &NoPassphrase, None).await.unwrap();
    assert_eq!(again.open_value(&ct, "x").unwrap(), Value::secret(Value::string("hunter2")));

    // The wrapped key is bound to its stack by the encryption context.
    let err = SecretsManager::load(StackRef::new("proj", "prod"), &url, m.encryptionsalt(), &NoPassphrase, None)
        .await
        .unwrap_err();
    assert!(matches!(err, SecretsError::Kms { .. }), "{err}");
    assert!(err.to_string().contains("stack `prod`"), "{err}");

    // An alias works too, and the stack's region is the default.
    let alias = format!("alias/cairn-test-{}", std::process::id());
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    aws_sdk_kms::Client::new(&config).create_alias().alias_name(&alias).target_key_id(&key_id).send().await.unwrap();
    let by_alias = Provider::parse(&format!("awskms://{alias}")).unwrap();
    let m =
        SecretsManager::create(StackRef::new("proj", "dev"), by_alias, &NoPassphrase, Some("us-east-1")).await.unwrap();
    let ct = m.seal(b"x");
    assert_eq!(m.open(&ct, "x").unwrap().as_slice(), b"x");
}
