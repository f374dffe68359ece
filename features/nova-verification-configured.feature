@nova @verification
Feature: Nova verifies image signatures on a cloud configured to
  The same rules as "Nova verifies image signatures when verify_glance_signatures is on", on a
  cloud as its operator configured it: nothing is switched, so these scenarios run on any cloud
  whose capability file declares what they need, real or simulated. A cloud that declares
  verify_glance_signatures: true must refuse unsigned and badly signed images; one that also
  declares certificate_validation: true must refuse a signed image whose certificate nobody
  trusts.

  Where the cloud clones RAW images from Ceph (images_type = rbd), Nova never downloads, so never
  verifies, them: the MOS document lists it as a known limitation. The scenarios' images are
  uploaded in the disk format the capability file names (image_format), so declare qcow2 for
  such a cloud.
  Reference: docs/reference/openstack-behaviour.md B1, B3, B5; the tempest image-signing tests.

  In the messages below {server} stands for the new server's id and {secret:<name>} for the id
  of a secret stored in the scenario.

  Background:
    Given "demo" holds the "creator" role in its project
    And "demo" stored the certificate "fixtures/pki/signing/rsa-3072.crt.pem" as secret "signing"
    And 100000 bytes of image data signed by "fixtures/pki/signing/rsa-3072.key.pem" with "RSA-PSS" and "SHA-256"

  @id:c665094b-bf57-49e4-9fee-4540e8514073 @tempest:4343df3c-5553-40ea-8705-0cce73b297a9 @optional:compute @optional:verify_glance_signatures=true @optional:certificate_validation=false @allow.skipped
  Scenario: A signed image whose signature verifies boots
    Given "demo" created an active image signed with secret "signing"
    When "demo" boots the image
    Then "demo" sees the server become "ACTIVE"

  @id:a1eae9d9-51d2-4d18-ac42-57346dfda05d @optional:compute @optional:verify_glance_signatures=true @optional:certificate_validation=false @allow.skipped
  Scenario: An unsigned image does not boot
    Given "demo" uploaded the signed data as an unsigned image
    When "demo" boots the image
    Then "demo" sees the server fail with the fault "Build of instance {server} aborted: Signature verification for the image failed: Required image properties for signature verification do not exist. Cannot verify signature. Missing property: img_signature_uuid."

  @id:6599b9f9-7618-4435-a6b7-8aeda59b6785 @optional:compute @optional:verify_glance_signatures=true @optional:certificate_validation=false @allow.skipped
  Scenario: A signature that is not base64 fails the build
    Given "demo" created an active image signed with secret "signing"
    When "demo" replaces the image property "img_signature" with "fake_signature"
    And "demo" boots the image
    Then "demo" sees the server fail with the fault "Build of instance {server} aborted: Signature verification for the image failed: The signature data was not properly encoded using base64."

  @id:07a91bfd-0bb7-4013-a220-df6547082fdf @optional:compute @optional:verify_glance_signatures=true @optional:certificate_validation=false @allow.skipped
  Scenario: A well-formed signature that does not match the data exhausts the build retries
    Nova's verifier raises cryptography's InvalidSignature, which it does not turn into a
    signature error: the build is rescheduled until the conductor gives up.

    Given "demo" created an active image signed with secret "signing"
    When "demo" replaces the image property "img_signature" with "c2lnbmF0dXJl"
    And "demo" boots the image
    Then "demo" sees the server fail with the fault "Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures for instance {server}."

  @id:b03c49db-1bd0-4204-9e27-921ee6f57ff4 @tempest:f0603dfd-8b2c-44e2-8b0f-d65c87aab257 @optional:compute @optional:verify_glance_signatures=true @optional:certificate_validation=false @allow.skipped
  Scenario: A snapshot of a server booted from a signed image is unsigned and does not boot
    Given "demo" created an active image signed with secret "signing"
    When "demo" boots the image
    Then "demo" sees the server become "ACTIVE"
    When "demo" snapshots the server
    Then the image has no property "img_signature"
    And the image has no property "img_signature_certificate_uuid"
    When "demo" boots the image
    Then "demo" sees the server fail with the fault "Build of instance {server} aborted: Signature verification for the image failed: Required image properties for signature verification do not exist. Cannot verify signature. Missing property: img_signature_uuid."

  @id:6f4ff5eb-cf08-4724-838c-b3203bf4c4a3 @optional:compute @optional:verify_glance_signatures=true @optional:certificate_validation=true @optional:default_trusted_certificates=false @allow.skipped
  Scenario: With certificate validation a signed image without trusted certificates does not boot
    Given "demo" created an active image signed with secret "signing"
    When "demo" boots the image
    Then "demo" sees the server fail with the fault "Build of instance {server} aborted: Image signature certificate validation enabled, but no trusted certificate IDs were provided. Unable to validate the certificate used to verify the image signature."

  @id:03164047-0f46-408e-8e95-2a78cfe8d3a3 @optional:compute @optional:verify_glance_signatures=true @optional:certificate_validation=true @allow.skipped
  Scenario: With certificate validation an unsigned image does not boot
    Nova reads the signature properties and builds the verifier before it looks for trusted
    certificates, so the missing properties are the fault, whether or not the user or
    nova.conf gives trusted certificates.

    Given "demo" uploaded the signed data as an unsigned image
    When "demo" boots the image
    Then "demo" sees the server fail with the fault "Build of instance {server} aborted: Signature verification for the image failed: Required image properties for signature verification do not exist. Cannot verify signature. Missing property: img_signature_uuid."

  @id:2569e5bd-155f-4207-9129-6d6168bf0b26 @optional:compute @optional:verify_glance_signatures=true @optional:certificate_validation=true @allow.skipped
  Scenario: With certificate validation a signed image whose certificate the user trusts boots
    Given "demo" created an active image signed with secret "signing"
    When "demo" boots the image trusting the certificates "signing"
    Then "demo" sees the server become "ACTIVE"
