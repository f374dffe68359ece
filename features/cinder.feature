@cinder
Feature: Cinder verifies signed images it copies into volumes
  Cinder's verify_glance_signatures is a string option whose default is "enabled": when a
  volume is created from an image that carries signature properties, cinder-volume downloads
  the image, verifies the downloaded data against the signature with the certificate from
  Barbican (fetched with the user's token), and only then copies it into the volume. There is
  no certificate validation in Cinder. The result is recorded in the volume's image metadata as
  the string signature_verified = 'True', or 'False' for an unsigned image, which Cinder
  accepts. A signature that does not match leaves the volume in "error" and tells the user why
  with a user message (GET /v3/{project_id}/messages, microversion 3.3 or later).

  The tampered image is uploaded unsigned and given the signature of other data afterwards
  with a PATCH, which Glance never verifies.
  Reference: openstack-behaviour.md C.

  Background:
    Given "demo" holds the "creator" role in its project
    And "demo" stored the certificate "fixtures/pki/signing/rsa-3072.crt.pem" as secret "signing"
    And 100000 bytes of image data signed by "fixtures/pki/signing/rsa-3072.key.pem" with "RSA-PSS" and "SHA-256"

  @id:1b4f5fca-b672-4c70-ae0c-a1830960c44d @optional:volume @optional:cinder_verification @allow.skipped @serial
  Scenario: A volume created from a signed image is verified
    Given "demo" created an active image signed with secret "signing"
    When "demo" creates a 1 GiB volume from the image
    Then "demo" sees the volume become "available"
    And "demo" sees the volume image metadata "signature_verified" is "True"

  @id:5beacacc-c2fa-4192-a33d-83a60b4c0279 @optional:volume @optional:cinder_verification @allow.skipped @serial
  Scenario: A volume created from an unsigned image is accepted unverified
    Given "demo" uploaded the signed data as an unsigned image
    When "demo" creates a 1 GiB volume from the image
    Then "demo" sees the volume become "available"
    And "demo" sees the volume image metadata "signature_verified" is "False"

  @id:cf0ab3e6-34fc-445d-9db9-f8370876b005 @optional:volume @optional:cinder_verification @allow.skipped @serial
  Scenario: A volume created from a tampered image fails with a user message
    Given "demo" uploaded the signed data with a byte changed as an unsigned image
    And "demo" added to the image the properties
      | img_signature                  | {signature}      |
      | img_signature_hash_method      | SHA-256          |
      | img_signature_key_type         | RSA-PSS          |
      | img_signature_certificate_uuid | {secret:signing} |
    When "demo" creates a 1 GiB volume from the image
    Then "demo" sees the volume become "error"
    And "demo" sees the user message "copy image to volume:Image signature verification failed." about the volume
