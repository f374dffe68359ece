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

  barbican-tempest-plugin's ImageSigningVolumeTest.test_signed_volume_attach_to_instance
  creates the verified volume, boots a server from the signed image and attaches the volume to
  it; the attach scenario mirrors it in full. Its encrypted-volume sibling 72ca044d (mirrored
  too) has an admin make a LUKS volume type, and extends the volume before attaching it.

  The tampered image is uploaded unsigned and given the signature of other data afterwards
  with a PATCH, which Glance never verifies.
  Reference: docs/reference/openstack-behaviour.md C.

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

  @id:47eacb55-5397-465d-9710-05985a8ca7db @tempest:9f28ce2e-362e-46ec-bf56-aebce9cc49fb @optional:compute @optional:volume @optional:cinder_verification @optional:certificate_validation=false @allow.skipped @serial
  Scenario: A verified volume from a signed image attaches to a server and detaches
    tempest's test_signed_volume_attach_to_instance: the volume keeps its verification record
    (signature_verified = 'True' and the image's certificate) through the attach; Nova lists
    it in the server's os-extended-volumes:volumes_attached while Cinder shows it "in-use".
    The server boots without trusted certificates, as tempest's does, which needs Nova's
    certificate validation off (on, Nova refuses such a boot).

    Given "demo" created an active image signed with secret "signing"
    When "demo" creates a 1 GiB volume from the image
    Then "demo" sees the volume become "available"
    And "demo" sees the volume image metadata "signature_verified" is "True"
    And "demo" sees the volume image metadata "img_signature_certificate_uuid" is "{secret:signing}"
    When "demo" boots the image
    Then "demo" sees the server become "ACTIVE"
    When "demo" attaches the volume to the server
    Then "demo" sees the volume attached to the server
    And "demo" sees the volume image metadata "signature_verified" is "True"
    When "demo" detaches the volume from the server
    Then "demo" sees the volume detached from the server
    When "demo" deletes the volume
    Then "demo" no longer finds the volume

  @id:02afb82d-6c76-4367-8ca4-1de1276f993f @tempest:72ca044d-39a4-4966-b302-f53a446d3e29 @optional:compute @optional:volume @optional:cinder_verification @optional:certificate_validation=false @allow.skipped @serial
  Scenario: An encrypted volume from a signed image is verified, extends and attaches to a server
    tempest's test_extend_encrypted_signed_volume_attach_to_instance: an admin makes a LUKS
    volume type; Cinder keys the volume in Barbican with the user's token and, since an
    encrypted volume is never cloned from the image, downloads and verifies the image. The
    verification record survives the extend to twice the size; the volume then attaches to a
    server booted from the same image, which is deleted after.

    Given "demo" created an active image signed with secret "signing"
    When "admin" creates the volume type "luks" with the encryption
      | provider         | luks            |
      | cipher           | aes-xts-plain64 |
      | key_size         | 256             |
      | control_location | front-end       |
    And "demo" creates a 1 GiB volume of the scenario's volume type "luks" from the image
    Then "demo" sees the volume become "available"
    And "demo" sees the volume encrypted
    When "demo" extends the volume to 2 GiB
    Then "demo" sees the volume become "available" with 2 GiB
    And "demo" sees the volume image metadata "signature_verified" is "True"
    And "demo" sees the volume image metadata "img_signature_certificate_uuid" is "{secret:signing}"
    When "demo" boots the image
    Then "demo" sees the server become "ACTIVE"
    When "demo" attaches the volume to the server
    Then "demo" sees the volume attached to the server
    When "demo" deletes the server
    Then "demo" no longer finds the server
    And "demo" sees the volume become "available"
    When "demo" deletes the volume
    Then "demo" no longer finds the volume

  @id:5beacacc-c2fa-4192-a33d-83a60b4c0279 @optional:volume @optional:cinder_verification @allow.skipped @serial
  Scenario: A volume created from an unsigned image is accepted unverified
    Given "demo" uploaded the signed data as an unsigned image
    When "demo" creates a 1 GiB volume from the image
    Then "demo" sees the volume become "available"
    And "demo" sees the volume image metadata "signature_verified" is "False"

  @id:cf0ab3e6-34fc-445d-9db9-f8370876b005 @optional:volume @optional:cinder_verification @allow.skipped @serial
  Scenario: A volume created from a tampered image fails with a user message
    Cinder 29 sends the volume back to the scheduler after the failed verification (the
    download's error handler replaces the exception with GlanceMetadataNotFound), so each
    attempt adds the message, and the scheduler adds its own when it gives up.

    Given "demo" uploaded the signed data with a byte changed as an unsigned image
    And "demo" added to the image the properties
      | img_signature                  | {signature}      |
      | img_signature_hash_method      | SHA-256          |
      | img_signature_key_type         | RSA-PSS          |
      | img_signature_certificate_uuid | {secret:signing} |
    When "demo" creates a 1 GiB volume from the image
    Then "demo" sees the volume become "error"
    And "demo" sees the user message "copy image to volume:Image signature verification failed." about the volume, besides the scheduler's "schedule allocate volume:Could not find any available weighted backend."

  @id:8b33ae3f-7020-427b-b8d4-886bb4135ea7 @optional:volume @optional:cinder_verification @allow.skipped @serial
  Scenario: A volume created from an image with only some of the signature properties fails without a signature user message
    Cinder refuses incomplete signature metadata ("Signature metadata is incomplete for image
    <id>."), an error without a user message of its own. Cinder 29 reschedules it, as any
    failure of the download, until the scheduler gives up: its message is the only one.

    Given "demo" uploaded the signed data as an unsigned image
    And "demo" added to the image the properties
      | img_signature                  | {signature}      |
      | img_signature_hash_method      | SHA-256          |
      | img_signature_certificate_uuid | {secret:signing} |
    When "demo" creates a 1 GiB volume from the image
    Then "demo" sees the volume become "error"
    And "demo" sees no user message about the volume but the scheduler's "schedule allocate volume:Could not find any available weighted backend."

  @id:74857373-302e-4daa-b28a-017d85854878 @optional:volume @optional:simulated_control @allow.skipped @simulated @serial
  Scenario: With verification disabled a volume from a signed image records nothing
    cinder.conf's verify_glance_signatures = disabled skips verification altogether: the
    volume is created and its image metadata has no signature_verified key at all.

    Given the simulated deployment is changed by the merge patch
      """
      {"cinder": {"verify_glance_signatures": "disabled"}}
      """
    And "demo" created an active image signed with secret "signing"
    When "demo" creates a 1 GiB volume from the image
    Then "demo" sees the volume become "available"
    And "demo" sees no volume image metadata "signature_verified"
