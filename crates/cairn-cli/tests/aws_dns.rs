//! A domain's DNS and certificate on the emulator: a hosted zone, an ACM certificate
//! validated by DNS in it, and an alias record to CloudFront. Read back through
//! aws-sdk-route53 and aws-sdk-acm: the validation CNAME ACM asks for is in the zone, the
//! certificate is issued, the alias names CloudFront's zone; a preview after `up` is empty.
//! Then `destroy` refuses the zone while it holds a record cairn did not make, naming it,
//! and deletes everything once that record is gone.

#[path = "common/aws.rs"]
mod aws;
mod common;

use aws::{emulator, unique};
use common::Proj;

const TEMPLATE: &str = r#"
Parameters:
  Domain:
    Type: String
Resources:
  Zone:
    Type: AWS::Route53::HostedZone
    Properties:
      Name: !Ref Domain
      HostedZoneConfig: {Comment: home inventory}
  Cert:
    Type: AWS::CertificateManager::Certificate
    Properties:
      DomainName: !Ref Domain
      SubjectAlternativeNames: [!Sub "*.${Domain}"]
      ValidationMethod: DNS
      DomainValidationOptions:
        - {DomainName: !Ref Domain, HostedZoneId: !Ref Zone}
  Site:
    Type: AWS::Route53::RecordSet
    Properties:
      HostedZoneId: !Ref Zone
      Name: !Sub "WWW.${Domain}."
      Type: A
      AliasTarget: {DNSName: d111111abcdef8.cloudfront.net, HostedZoneId: Z2FDTNDATAQYW2}
Outputs:
  Cert: {Value: !Ref Cert}
  Site: {Value: !Ref Site}
"#;

#[test]
fn a_certificate_is_validated_in_its_zone_and_the_zone_keeps_what_cairn_did_not_make() {
    let Some(emu) = emulator() else { return };
    let name = unique("dns");
    let domain = format!("{name}.example.com");
    let p = Proj::named(&name, TEMPLATE, &format!("parameters:\n  Domain: {domain}\n"));
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    let state = p.state("dev");
    let id = |r: &str| state["resources"][r]["physical_id"].as_str().unwrap_or_else(|| panic!("{r}'s id")).to_string();
    let (zone, arn) = (id("Zone"), id("Cert"));
    assert!(!zone.starts_with('/'), "Ref of a zone is its bare id: {zone}");
    assert_eq!(id("Site"), format!("WWW.{domain}."), "Ref of a record is its name as written");

    let route53 = aws_sdk_route53::Client::new(&emu.config);
    let acm = aws_sdk_acm::Client::new(&emu.config);
    let cert = emu.block(acm.describe_certificate().certificate_arn(&arn).send()).expect("the certificate");
    let cert = cert.certificate.expect("a certificate");
    assert_eq!(cert.status, Some(aws_sdk_acm::types::CertificateStatus::Issued));
    let wanted: Vec<(String, String)> = cert
        .domain_validation_options
        .unwrap_or_default()
        .into_iter()
        .filter_map(|o| o.resource_record.map(|r| (r.name, r.value)))
        .collect();
    assert!(!wanted.is_empty(), "ACM asks for validation records");
    let records = emu
        .block(route53.list_resource_record_sets().hosted_zone_id(&zone).send())
        .expect("the zone's records")
        .resource_record_sets;
    for (rname, value) in &wanted {
        let r = records
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(rname) && r.r#type == aws_sdk_route53::types::RrType::Cname)
            .unwrap_or_else(|| panic!("the validation CNAME {rname} is in the zone: {records:?}"));
        let values: Vec<&str> = r.resource_records().iter().map(|v| v.value.as_str()).collect();
        assert_eq!(values, [value.as_str()]);
    }
    let site = records.iter().find(|r| r.name == format!("www.{domain}.")).expect("the alias record");
    let alias = site.alias_target.as_ref().expect("an alias");
    assert_eq!(alias.hosted_zone_id, "Z2FDTNDATAQYW2");
    p.run(&["-s", "dev", "preview", "--refresh", "--expect-no-changes"]).ok();

    // A record cairn did not make keeps the zone; the error names it and what to do.
    let foreign = aws_sdk_route53::types::ResourceRecordSet::builder()
        .name(format!("mail.{domain}."))
        .r#type(aws_sdk_route53::types::RrType::Txt)
        .ttl(300)
        .resource_records(aws_sdk_route53::types::ResourceRecord::builder().value("\"v=spf1 -all\"").build().unwrap())
        .build()
        .unwrap();
    let change = |action| {
        let change = aws_sdk_route53::types::Change::builder()
            .action(action)
            .resource_record_set(foreign.clone())
            .build()
            .unwrap();
        let batch = aws_sdk_route53::types::ChangeBatch::builder().changes(change).build().unwrap();
        emu.block(route53.change_resource_record_sets().hosted_zone_id(&zone).change_batch(batch).send())
            .expect("a change by hand");
    };
    change(aws_sdk_route53::types::ChangeAction::Create);
    let out = p.run(&["-s", "dev", "destroy", "--yes"]).code(1);
    assert!(
        out.stderr.contains("Zone (AWS::Route53::HostedZone)") && out.stderr.contains("HostedZoneNotEmpty"),
        "{out}"
    );
    assert!(out.stderr.contains(&format!("mail.{domain}. TXT")), "{out}");
    assert!(out.stderr.contains("cairn does not delete records it does not own"), "{out}");
    emu.block(route53.get_hosted_zone().id(&zone).send()).expect("the zone is still there");

    change(aws_sdk_route53::types::ChangeAction::Delete);
    p.run(&["-s", "dev", "destroy", "--yes"]).ok();
    let gone = emu.block(route53.get_hosted_zone().id(&zone).send()).expect_err("the zone is gone");
    assert_eq!(aws_sdk_route53::error::ProvideErrorMetadata::code(&gone), Some("NoSuchHostedZone"));
    let gone = emu.block(acm.describe_certificate().certificate_arn(&arn).send()).expect_err("the certificate is gone");
    assert_eq!(aws_sdk_acm::error::ProvideErrorMetadata::code(&gone), Some("ResourceNotFoundException"));
}

/// A private zone in the VPC at `index` of the `Vpcs` parameter.
fn private(index: usize) -> String {
    format!(
        r#"
Parameters:
  Vpcs:
    Type: CommaDelimitedList
Resources:
  Internal:
    Type: AWS::Route53::HostedZone
    Properties:
      Name: internal.example
      VPCs:
        - {{VPCId: !Select [{index}, !Ref Vpcs], VPCRegion: us-east-1}}
"#
    )
}

#[test]
fn a_private_zone_moves_between_vpcs_in_place_and_never_becomes_public() {
    let Some(emu) = emulator() else { return };
    let ec2 = aws_sdk_ec2::Client::new(&emu.config);
    let vpc = || {
        let out = emu.block(ec2.create_vpc().cidr_block("10.42.0.0/16").send()).expect("a VPC");
        out.vpc.and_then(|v| v.vpc_id).expect("its id")
    };
    let (first, second) = (vpc(), vpc());
    let name = unique("private");
    let p = Proj::named(&name, &private(0), &format!("parameters:\n  Vpcs: {first},{second}\n"));
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    let zone = p.state("dev")["resources"]["Internal"]["physical_id"].as_str().expect("the zone id").to_string();
    let route53 = aws_sdk_route53::Client::new(&emu.config);
    let vpcs = || {
        let out = emu.block(route53.get_hosted_zone().id(&zone).send()).expect("the zone");
        assert!(out.hosted_zone.and_then(|z| z.config).is_some_and(|c| c.private_zone), "a private zone");
        out.vpcs.unwrap_or_default().into_iter().filter_map(|v| v.vpc_id).collect::<Vec<_>>()
    };
    assert_eq!(vpcs(), vec![first]);
    p.run(&["-s", "dev", "preview", "--refresh", "--expect-no-changes"]).ok();

    // The other VPC: associated first, then the old one let go; the same zone.
    p.write("template.yaml", &private(1));
    p.run(&["-s", "dev", "up", "--yes"]).ok();
    assert_eq!(p.state("dev")["resources"]["Internal"]["physical_id"].as_str(), Some(zone.as_str()));
    assert_eq!(vpcs(), vec![second.clone()]);
    p.run(&["-s", "dev", "preview", "--refresh", "--expect-no-changes"]).ok();

    // A private zone cannot become public: refused, naming what to do.
    p.write(
        "template.yaml",
        &private(1).replace("      VPCs:\n        - {VPCId: !Select [1, !Ref Vpcs], VPCRegion: us-east-1}\n", ""),
    );
    let out = p.run(&["-s", "dev", "up", "--yes"]).code(1);
    assert!(out.stderr.contains("cannot make a private zone public"), "{out}");
    assert_eq!(vpcs(), [second]);
    p.run(&["-s", "dev", "destroy", "--yes"]).ok();
}
