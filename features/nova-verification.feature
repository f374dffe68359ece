@nova @verification
Feature: Nova verifies image signatures when verify_glance_signatures is on
  With nova.conf's [glance] verify_glance_signatures = True (on nova-api and nova-compute),
  the compute host reads the image's four signature properties and fetches the signing
  certificate from Barbican, with the booting user's token, before it downloads any data, and
  verifies the data as it writes it. Then an unsigned image, or one with only some of the
  properties, no longer boots. A failure aborts the build: the server goes to ERROR with the
  fault "Build of instance <id> aborted: Signature verification for the image failed: <reason>".
  Certificate validation stays off (enable_certificate_validation = False), so the signing
  certificate need not chain up to anything.

  The simulated cloud is switched to verification for these scenarios, on two compute hosts
  with local disks (so no RAW-on-Ceph clone skips the download), and back afterwards.
  Images get their signature properties with a PATCH after an unsigned upload where Glance
  must not refuse them first (Glance verifies only at upload).
  Reference: docs/reference/openstack-behaviour.md B1, B3, B5; the tempest image-signing tests.

  In the messages below {server} stands for the new server's id and {secret:<name>} for the id
  of a secret stored in the scenario.

  Background:
    Given the simulated deployment is changed by the merge patch
      """
      {"nova": {"glance": {"verify_glance_signatures": true, "enable_certificate_validation": false}},
       "compute_nodes": [{"host": "compute-0", "images_type": "local"}, {"host": "compute-1", "images_type": "local"}]}
      """
    And "demo" holds the "creator" role in its project
    And "demo" stored the certificate "fixtures/pki/signing/rsa-3072.crt.pem" as secret "signing"
    And 100000 bytes of image data signed by "fixtures/pki/signing/rsa-3072.key.pem" with "RSA-PSS" and "SHA-256"

  @id:65076cdb-c1ea-4966-8e07-b905dd75a3e4 @tempest:4343df3c-5553-40ea-8705-0cce73b297a9 @optional:compute @allow.skipped @simulated @serial
  Scenario: A signed image whose signature verifies boots
    Given "demo" created an active image signed with secret "signing"
    When "demo" boots the image
    Then "demo" sees the server become "ACTIVE"

  @id:8a430f67-8c26-41f6-8a70-70f6fa691d43 @optional:compute @allow.skipped @simulated @serial
  Scenario: An unsigned image no longer boots
    Given "demo" uploaded the signed data as an unsigned image
    When "demo" boots the image
    Then "demo" sees the server fail with the fault "Build of instance {server} aborted: Signature verification for the image failed: Required image properties for signature verification do not exist. Cannot verify signature. Missing property: img_signature_uuid."

  @id:153481ac-f660-4953-8b08-ea4b3eb37e8e @optional:compute @allow.skipped @simulated @serial
  Scenario: A signature that is not base64 fails the build
    Given "demo" uploaded the signed data as an unsigned image
    And "demo" added to the image the properties
      | img_signature                  | fake_signature   |
      | img_signature_hash_method      | SHA-256          |
      | img_signature_key_type         | RSA-PSS          |
      | img_signature_certificate_uuid | {secret:signing} |
    When "demo" boots the image
    Then "demo" sees the server fail with the fault "Build of instance {server} aborted: Signature verification for the image failed: The signature data was not properly encoded using base64."

  @id:a3cb508a-b05b-4b80-9708-f3e660605322 @optional:compute @allow.skipped @simulated @serial
  Scenario: A well-formed signature that does not match the data exhausts the build retries
    The signature is replaced after the upload by a valid base64 value that is not the
    signature of the data. Nova's verifier then raises cryptography's InvalidSignature, which
    it does not turn into a signature error: the build is rescheduled to every other host,
    fails there too, and the conductor gives up. The fault never says "Signature verification".

    Given "demo" created an active image signed with secret "signing"
    When "demo" replaces the image property "img_signature" with "c2lnbmF0dXJl"
    And "demo" boots the image
    Then "demo" sees the server fail with the fault "Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures for instance {server}."

  @id:79b16a81-eaa0-4b81-8873-3bcdfbdc2c26 @optional:compute @allow.skipped @simulated @serial
  Scenario: Certificate validation without any trusted certificate ids fails the build
    With enable_certificate_validation = True, the user giving no trusted_image_certificates
    and default_trusted_certificate_ids empty, there is nothing to validate the signing
    certificate against, and even a correctly signed image does not boot.

    Given the simulated deployment is changed by the merge patch
      """
      {"nova": {"glance": {"enable_certificate_validation": true}}}
      """
    And "demo" created an active image signed with secret "signing"
    When "demo" boots the image
    Then "demo" sees the server fail with the fault "Build of instance {server} aborted: Image signature certificate validation enabled, but no trusted certificate IDs were provided. Unable to validate the certificate used to verify the image signature."

  @id:d2f32741-97bb-49c5-930c-2238a64652fc @tempest:f0603dfd-8b2c-44e2-8b0f-d65c87aab257 @optional:compute @allow.skipped @simulated @serial
  Scenario: A snapshot of a server booted from a signed image is unsigned
    Nova never copies the four signature properties into a snapshot (they are in
    NON_INHERITABLE_IMAGE_PROPERTIES), so the snapshot no longer boots where signatures are
    verified.

    Given "demo" created an active image signed with secret "signing"
    When "demo" boots the image
    Then "demo" sees the server become "ACTIVE"
    When "demo" snapshots the server
    Then the image has no property "img_signature"
    And the image has no property "img_signature_hash_method"
    And the image has no property "img_signature_key_type"
    And the image has no property "img_signature_certificate_uuid"
    When "demo" boots the image
    Then "demo" sees the server fail with the fault "Build of instance {server} aborted: Signature verification for the image failed: Required image properties for signature verification do not exist. Cannot verify signature. Missing property: img_signature_uuid."

  @id:9b018529-a087-4240-9e8e-be88dd457c21 @tempest:74f022d6-a6ef-4458-96b7-541deadacf99 @optional:compute @allow.skipped @simulated @serial
  Scenario: A signed image whose signature was replaced after the upload fails the build
    As barbican-tempest-plugin does it: Glance verifies the upload, accepts the PATCH of
    img_signature to a value that is not base64 (the image stays active), and Nova refuses it.

    Given "demo" created an active image signed with secret "signing"
    When "demo" replaces the image property "img_signature" with "fake_signature"
    Then the request is answered 200
    When "demo" boots the image
    Then "demo" sees the server fail with the fault "Build of instance {server} aborted: Signature verification for the image failed: The signature data was not properly encoded using base64."
