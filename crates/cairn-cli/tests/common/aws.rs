//! Helpers for the CLI acceptance tests against the local AWS emulator (moto, started by
//! `scripts/test.sh` through `scripts/moto.sh`): SDK clients that read back what `cairn`
//! did, and unique names (every test deploys under a project name of its own, because the
//! tests share one emulator).
#![allow(dead_code)]

use std::collections::BTreeSet;

use aws_sdk_iam::error::ProvideErrorMetadata;
use rand::Rng;
use serde_json::{json, Value};

/// SDK clients pointed at the emulator, and a runtime to drive them from sync tests.
pub struct Emu {
    pub rt: tokio::runtime::Runtime,
    pub s3: aws_sdk_s3::Client,
    pub iam: aws_sdk_iam::Client,
    pub kms: aws_sdk_kms::Client,
    /// The SDK configuration the clients are made from (for other services' clients).
    pub config: aws_config::SdkConfig,
}

/// The emulator's clients, or `None` (after saying so) when `AWS_ENDPOINT_URL` is unset.
/// Under `CAIRN_REQUIRE_EMULATOR` (scripts/test.sh, CI) a missing emulator is a failure.
pub fn emulator() -> Option<Emu> {
    let Ok(url) = std::env::var("AWS_ENDPOINT_URL") else {
        assert!(
            std::env::var_os("CAIRN_REQUIRE_EMULATOR").is_none(),
            "AWS_ENDPOINT_URL is not set, but CAIRN_REQUIRE_EMULATOR is: scripts/test.sh should have started moto"
        );
        eprintln!("skipping: AWS_ENDPOINT_URL not set (run via scripts/test.sh, or `source <(scripts/moto.sh start)`)");
        return None;
    };
    assert!(
        url.starts_with("http://127.0.0.1") || url.starts_with("http://localhost"),
        "these tests only run against a local emulator, not {url}"
    );
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let config = rt.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest()).region(aws_config::Region::new("us-east-1")).load(),
    );
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
    let iam = aws_sdk_iam::Client::new(&config);
    let kms = aws_sdk_kms::Client::new(&config);
    Some(Emu { rt, s3, iam, kms, config })
}

/// `prefix-` and 8 random lower-case letters and digits.
pub fn unique(prefix: &str) -> String {
    let mut rng = rand::rng();
    let s: String =
        (0..8).map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)])).collect();
    format!("{prefix}-{s}")
}

/// The name at the end of an IAM ARN (`arn:aws:iam::123:role/path/NAME` -> `NAME`).
pub fn arn_name(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or(arn).to_string()
}

/// A policy document as IAM returns it (maybe URL-encoded) as JSON.
pub fn doc(text: &str) -> Value {
    cairn_aws::policy_doc::parse(&Value::String(text.to_string()))
        .unwrap_or_else(|| panic!("not a policy document: {text}"))
}

/// The actions of a policy document's first statement (`Statement` may be one statement
/// or a list), sorted.
pub fn first_statement_actions(doc: &Value) -> Vec<String> {
    let first = match &doc["Statement"] {
        Value::Array(statements) => statements.first().cloned().unwrap_or(Value::Null),
        one => one.clone(),
    };
    strings(&first["Action"]).into_iter().collect()
}

/// A JSON value that may be one string or a list of strings, as a set.
pub fn strings(v: &Value) -> BTreeSet<String> {
    match v {
        Value::String(s) => [s.clone()].into(),
        Value::Array(a) => a.iter().map(|x| x.as_str().expect("a string").to_string()).collect(),
        other => panic!("expected a string or a list of strings, found {other}"),
    }
}

impl Emu {
    /// Put a (small, valid) image manifest under `tag` in ECR repository `repo`, as
    /// `docker push` leaves it.
    pub fn put_image(&self, ecr: &aws_sdk_ecr::Client, repo: &str, tag: &str) {
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": 1457,
                "digest": "sha256:4a1c4bc0c1bf7c8a1f1ed1f8c0b1a0b9b5bb0b1c4c1f0bd6b8a7b8f3c1a2d3e4"
            },
            "layers": [{
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": 3370706,
                "digest": "sha256:9b1e7ef8b2d2c4f4f1a0f7d6b3f3f6f8e2b7d1f3c8a5e4b6d2c9f7e3a1b5c8d7"
            }]
        });
        self.block(ecr.put_image().repository_name(repo).image_manifest(manifest.to_string()).image_tag(tag).send())
            .unwrap_or_else(|e| panic!("PutImage {repo}:{tag}: {}", e.message().unwrap_or_default()));
    }

    /// The SDK configuration of the clients, in `region` (for a resource's `Region:`).
    pub fn in_region(&self, region: &str) -> aws_config::SdkConfig {
        self.config.to_builder().region(aws_config::Region::new(region.to_string())).build()
    }

    pub fn block<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// Create an (empty) bucket.
    pub fn create_bucket(&self, name: &str) {
        self.block(self.s3.create_bucket().bucket(name).send())
            .unwrap_or_else(|e| panic!("CreateBucket {name}: {e:?}"));
    }

    /// Create a KMS key and the alias `alias` (`alias/NAME`) for it; returns the key id.
    pub fn create_kms_alias(&self, alias: &str) -> String {
        let key = self.block(self.kms.create_key().description("cairn test").send()).expect("CreateKey");
        let key_id = key.key_metadata().expect("key metadata").key_id().to_string();
        self.block(self.kms.create_alias().alias_name(alias).target_key_id(&key_id).send())
            .unwrap_or_else(|e| panic!("CreateAlias {alias}: {e:?}"));
        key_id
    }

    /// Every object of a bucket: its key and its content.
    pub fn objects(&self, bucket: &str) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .block(self.s3.list_objects_v2().bucket(bucket).set_continuation_token(token.clone()).send())
                .expect("ListObjectsV2");
            for key in page.contents().iter().filter_map(|o| o.key()) {
                let get = self.block(self.s3.get_object().bucket(bucket).key(key).send()).expect("GetObject");
                let body = self.block(get.body.collect()).expect("object body").into_bytes().to_vec();
                out.push((key.to_string(), body));
            }
            token = page.next_continuation_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        out.sort();
        out
    }

    /// Give a copy of examples/pipeweave's production stack a state bucket and a KMS alias of
    /// its own, made here: its stack file names `s3://pipeweave-state/...` and
    /// `alias/pipeweave-production`, which a team creates once (README "Team set-up").
    /// Returns the bucket and the alias (without `alias/`).
    pub fn team_backend(&self, p: &crate::common::Proj) -> (String, String) {
        let bucket = unique("pw-state");
        let alias = unique("pw-production");
        self.create_bucket(&bucket);
        self.create_kms_alias(&format!("alias/{alias}"));
        let text = p.read("stacks/production.yaml");
        let ours = text
            .replace("backend: s3://pipeweave-state/", &format!("backend: s3://{bucket}/"))
            .replace("awskms://alias/pipeweave-production?", &format!("awskms://alias/{alias}?"));
        assert!(
            ours.contains(&format!("s3://{bucket}/pipeweave?region=us-east-1")) && ours.contains(&alias),
            "stacks/production.yaml does not name the team's bucket and key as expected:\n{text}"
        );
        p.write("stacks/production.yaml", &ours);
        (bucket, alias)
    }

    pub fn bucket_exists(&self, name: &str) -> bool {
        match self.block(self.s3.head_bucket().bucket(name).send()) {
            Ok(_) => true,
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => false,
            Err(e) => panic!("HeadBucket {name}: {e:?}"),
        }
    }

    /// Every bucket's name.
    pub fn bucket_names(&self) -> Vec<String> {
        let out = self.block(self.s3.list_buckets().send()).expect("ListBuckets");
        out.buckets().iter().filter_map(|b| b.name().map(str::to_string)).collect()
    }

    /// The tags of a bucket (empty when it has none).
    pub fn bucket_tags(&self, name: &str) -> Vec<(String, String)> {
        match self.block(self.s3.get_bucket_tagging().bucket(name).send()) {
            Ok(t) => t.tag_set().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect(),
            Err(e) if e.code() == Some("NoSuchTagSet") => Vec::new(),
            Err(e) => panic!("GetBucketTagging {name}: {e:?}"),
        }
    }

    /// The default version's document of a managed policy.
    pub fn policy_document(&self, arn: &str) -> Value {
        let p = self.block(self.iam.get_policy().policy_arn(arn).send()).expect("GetPolicy");
        let version = p.policy().and_then(|p| p.default_version_id()).expect("a default version").to_string();
        let v = self
            .block(self.iam.get_policy_version().policy_arn(arn).version_id(&version).send())
            .expect("GetPolicyVersion");
        doc(v.policy_version().and_then(|v| v.document()).expect("a document"))
    }

    /// The names of every role, customer managed policy and instance profile.
    pub fn iam_names(&self) -> (BTreeSet<String>, BTreeSet<String>, BTreeSet<String>) {
        let mut roles = BTreeSet::new();
        let mut marker = None;
        loop {
            let out = self.block(self.iam.list_roles().set_marker(marker.clone()).send()).expect("ListRoles");
            roles.extend(out.roles().iter().map(|r| r.role_name().to_string()));
            marker = out.marker().map(str::to_string);
            if !out.is_truncated() || marker.is_none() {
                break;
            }
        }
        let mut policies = BTreeSet::new();
        let mut marker = None;
        loop {
            let out = self
                .block(
                    self.iam
                        .list_policies()
                        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
                        .set_marker(marker.clone())
                        .send(),
                )
                .expect("ListPolicies");
            policies.extend(out.policies().iter().filter_map(|p| p.policy_name().map(str::to_string)));
            marker = out.marker().map(str::to_string);
            if !out.is_truncated() || marker.is_none() {
                break;
            }
        }
        let mut profiles = BTreeSet::new();
        let mut marker = None;
        loop {
            let out = self
                .block(self.iam.list_instance_profiles().set_marker(marker.clone()).send())
                .expect("ListInstanceProfiles");
            profiles.extend(out.instance_profiles().iter().map(|p| p.instance_profile_name().to_string()));
            marker = out.marker().map(str::to_string);
            if !out.is_truncated() || marker.is_none() {
                break;
            }
        }
        (roles, policies, profiles)
    }

    /// The roles whose `cairn:project` tag is `project`.
    pub fn roles_tagged(&self, project: &str) -> Vec<String> {
        let (roles, _, _) = self.iam_names();
        roles
            .into_iter()
            .filter(|r| match self.block(self.iam.list_role_tags().role_name(r).send()) {
                Ok(t) => t.tags().iter().any(|t| t.key() == "cairn:project" && t.value() == project),
                Err(e) if e.code() == Some("NoSuchEntity") => false,
                Err(e) => panic!("ListRoleTags {r}: {e:?}"),
            })
            .collect()
    }

    /// Nothing of a destroyed examples/pipeweave stack of `project` is left: its bucket,
    /// role, managed policy and instance profile by name, no bucket named after the
    /// project, and no role tagged `cairn:project={project}`.
    pub fn assert_pipeweave_gone(&self, project: &str, bucket: &str, role: &str, policy: &str, profile: &str) {
        assert!(!self.bucket_exists(bucket), "bucket {bucket} remains");
        let left: Vec<String> = self.bucket_names().into_iter().filter(|b| b.contains(project)).collect();
        assert!(left.is_empty(), "buckets of {project} remain: {left:?}");
        let (roles, policies, profiles) = self.iam_names();
        assert!(!roles.contains(role), "role {role} remains");
        assert!(!policies.contains(policy), "policy {policy} remains");
        assert!(!profiles.contains(profile), "instance profile {profile} remains");
        assert_eq!(self.roles_tagged(project), Vec::<String>::new(), "roles tagged cairn:project={project} remain");
    }
}
