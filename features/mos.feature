@mos
Feature: Turning image signature verification on for an existing MOS cloud
  Mirantis OpenStack turns verification on with one switch of the OpenStackDeployment
  resource, spec:features:glance:signature:enabled: true, which makes Nova verify signatures
  ([glance] verify_glance_signatures = True) and Cinder keep verifying them, without
  certificate validation. Turned on for a cloud that already runs, it signs nothing: the
  images uploaded before stay unsigned and no longer boot, with the fault "Missing property".
  The MOS document's answer is to sign them afterwards: download each image, sign its data,
  and add the four signature properties with a PATCH (what `sigstack audit` reports and
  `sigstack sign-images` does); Glance does not verify on PATCH, Nova and Cinder verify at the
  next download.

  The first scenario turns the MOS switch on in the simulated cloud, whatever profile it
  runs; the switch only takes effect where nova.conf leaves verify_glance_signatures unset
  (as MOS does), so the patch unsets it too and leaves certificate validation off, as MOS
  does, on two compute hosts with local disks (a RAW image on an RBD host would be cloned,
  never verified); all of it is put back after the scenario. The audit and the signing run the tools'
  own code (the sigstack-ops library behind `sigstack audit` and `sigstack sign-images`)
  through the OpenStack APIs, on the scenario's image: the whole data streamed from Glance,
  hashed, signed, one JSON-patch of the four properties, then downloaded again and verified
  as Nova would.
  Reference: docs/reference/source-documents.md, MOS "Image signature verification"; docs/reference/openstack-behaviour.md
  A5, B1, B5, C.

  In the messages below {server} stands for the new server's id.

  @id:1224e675-7e88-4f0b-93ae-b8aa80982c87 @optional:compute @optional:volume @optional:simulated_control @allow.skipped @simulated @serial
  Scenario: Unsigned images stop booting when the switch is turned on and boot again once signed
    Given "demo" holds the "creator" role in its project
    And "demo" stored the certificate "fixtures/pki/signing/rsa-3072.crt.pem" as secret "signing"
    And 100000 bytes of image data signed by "fixtures/pki/signing/rsa-3072.key.pem" with "RSA-PSS" and "SHA-256"
    And "demo" uploaded the signed data as an unsigned image
    Then the audit by "demo" reports the image "unsigned", failing to boot with "Signature verification for the image failed: Required image properties for signature verification do not exist. Cannot verify signature. Missing property: img_signature_uuid."
    Given the simulated deployment is changed by the merge patch
      """
      {"features": {"glance": {"signature": {"enabled": true}}},
       "nova": {"glance": {"verify_glance_signatures": null, "enable_certificate_validation": false}},
       "compute_nodes": [{"host": "compute-0", "images_type": "local"}, {"host": "compute-1", "images_type": "local"}]}
      """
    When "demo" boots the image
    Then "demo" sees the server fail with the fault "Build of instance {server} aborted: Signature verification for the image failed: Required image properties for signature verification do not exist. Cannot verify signature. Missing property: img_signature_uuid."
    When "demo" signs the image with sign-images, the key "fixtures/pki/signing/rsa-3072.key.pem", the certificate "fixtures/pki/signing/rsa-3072.crt.pem" stored as secret "signing" and "SHA-256"
    Then the image status is "active"
    And the image property "img_signature_key_type" is "RSA-PSS"
    And the audit by "demo" with the data verified reports the image "verified" and nothing would fail to boot
    When "demo" boots the image
    Then "demo" sees the server become "ACTIVE"
    When "demo" creates a 1 GiB volume from the image
    Then "demo" sees the volume become "available"
    And "demo" sees the volume image metadata "signature_verified" is "True"

  @id:add3ec3a-64da-4260-9ee4-8ae9fc3a9b0b @optional:baseline_images @optional:verify_glance_signatures @optional:compute @allow.skipped @target-users
  Scenario: The pre-built images of a cloud deployed with the switch on are signed and boot
    MOS provisions every cloud with a baseline set of images (Cirros, Ubuntu, Fedora, and the
    service images of the Load Balancer and Bare Metal services). Deployed with
    verification on, it signs them with a pre-generated self-signed certificate, so they boot
    while Nova verifies. Runs only where the capability file declares baseline_images.
    The compute host fetches the certificate with the booting user's token, so only users the
    certificate secret's read ACL names can boot these images where they are downloaded: the
    scenario acts as the cloud's own "demo" (@target-users), not a user made for it.
    Given "demo" finds the pre-built image "Cirros-6.0"
    Then the image status is "active"
    And the image carries the four signature properties
    When "demo" boots the image
    Then "demo" sees the server become "ACTIVE"
