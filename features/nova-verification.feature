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

  The simulated cloud is switched to verification for these scenarios and back afterwards.
  Images get their signature properties with a PATCH after an unsigned upload where Glance
  must not refuse them first (Glance verifies only at upload).
  Reference: openstack-behaviour.md B1, B3, B5; the tempest image-signing tests.

  In the messages below {server} stands for the new server's id and {secret:<name>} for the id
  of a secret stored in the scenario.

  Background:
    Given the simulated deployment is changed by the merge patch
      """
      {"nova": {"glance": {"verify_glance_signatures": true}}}
      """
    And "demo" holds the "creator" role in its project
    And "demo" stored the certificate "fixtures/pki/signing/rsa-3072.crt.pem" as secret "signing"
    And 100000 bytes of image data signed by "fixtures/pki/signing/rsa-3072.key.pem" with "RSA-PSS" and "SHA-256"

  @id:65076cdb-c1ea-4966-8e07-b905dd75a3e4 @optional:compute @allow.skipped @simulated @serial
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
