@limitations
Feature: The known limitations of image signature verification
  Mirantis OpenStack's "Image signature verification" page lists what the feature does not
  protect against. Each limitation is upstream behaviour, and a cloud that conforms shows it:

  - Glance does not require a signature: an image without signature properties is accepted
    (glance.feature, "An unsigned image is accepted without verification"), and so is one with
    only some of them.
  - Glance does not verify again when the signature properties change after the upload
    (glance.feature, "Replacing the signature of an active image does not verify it again").
  - Cinder does not require a signature either (cinder.feature, "A volume created from an
    unsigned image is accepted unverified").
  - Nobody checks that the signing certificate is trusted unless certificate validation is on
    or the user gives trusted certificates (nova.feature): a self-signed certificate, or one
    whose issuer nobody stored, signs images as well as any other.
  - Nova does not verify an image that is already in the compute host's image cache: only the
    download verifies, and a cached image is not downloaded again (for a boot, a rebuild with
    the same image, or a hard reboot). Any cloud shows it with a signature replaced after the
    first boot; the simulator also with verification turned on after caching.
  - Instance HA evacuates with its own user's token, so a server of a signed image cannot be
    rebuilt elsewhere unless that user may read the signing certificate (a read ACL).
  - Images that Ceph clones without a download (RAW images on RBD-backed ephemeral or volume
    storage) are never verified. The default deployment has no RBD storage; the scenarios that
    show it add an RBD compute node or Cinder back end to the simulated deployment, and the
    other simulated scenarios pin two compute hosts with local disks, whatever deployment the
    simulator runs (a `mos` one has an RBD host, where any RAW image would be cloned).
  - A server booted from a volume is never checked against trusted certificates: Nova does not
    download the image, and Cinder, which does, verifies the signature only.

  Reference: docs/reference/source-documents.md, MOS "Known limitations"; docs/reference/openstack-behaviour.md A5, B3, B4, C.

  In the messages below {server} stands for the new server's id.

  Scenario Outline: Glance accepts a signature made with a certificate nobody trusts
    Given "admin" stored the certificate "<certificate>" as secret "untrusted"
    And 50000 bytes of image data signed by "<key>" with "RSA-PSS" and "SHA-256"
    When "admin" creates an image with the properties
      | img_signature                  | {signature}        |
      | img_signature_hash_method      | SHA-256            |
      | img_signature_key_type         | RSA-PSS            |
      | img_signature_certificate_uuid | {secret:untrusted} |
    And "admin" uploads the signed data
    Then the request is answered 204
    And the image status is "active"

    @id:b0362371-7c8e-4b46-a49b-3a052b259bf3 @required
    Examples: a self-signed certificate
      | certificate                           | key                                   |
      | fixtures/pki/signing/rsa-2048.crt.pem | fixtures/pki/signing/rsa-2048.key.pem |

    @id:bb93a95f-8ce1-4eae-9737-bf7653539afa @required
    Examples: a certificate whose issuer is not stored anywhere
      | certificate                       | key                               |
      | fixtures/pki/chain/client.crt.pem | fixtures/pki/chain/client.key.pem |

  @id:cd4b2d48-81ab-4a8f-8baf-799b764d49f3 @optional:compute @allow.skipped @simulated @serial
  Scenario: Nova verifying signatures boots an image signed with a certificate nobody trusts
    Given the simulated deployment is changed by the merge patch
      """
      {"nova": {"glance": {"verify_glance_signatures": true, "enable_certificate_validation": false}},
       "compute_nodes": [{"host": "compute-0", "images_type": "local"}, {"host": "compute-1", "images_type": "local"}]}
      """
    And "admin" stored the certificate "fixtures/pki/chain/client.crt.pem" as secret "untrusted"
    And 50000 bytes of image data signed by "fixtures/pki/chain/client.key.pem" with "RSA-PSS" and "SHA-256"
    And "admin" created an active image signed with secret "untrusted"
    When "admin" boots the image
    Then "admin" sees the server become "ACTIVE"

  @id:8618b6d5-853c-400f-a785-4c3b924b9182 @optional:compute @allow.skipped @simulated @serial
  Scenario: Nova does not verify an image already cached on the compute host
    The image was cached on compute-0 before verification was turned on; compute-1 has never
    downloaded it. "admin" pins each server to a host (availability zone "nova:<host>").

    Given the simulated deployment is changed by the merge patch
      """
      {"nova": {"glance": {"verify_glance_signatures": false}},
       "compute_nodes": [{"host": "compute-0", "images_type": "local"}, {"host": "compute-1", "images_type": "local"}]}
      """
    And 5000 bytes of image data signed by "fixtures/pki/signing/rsa-2048.key.pem" with "RSA-PSS" and "SHA-256"
    And "admin" uploaded the signed data as an unsigned image
    And the compute node "compute-0" has the image in its cache, fetched with the token of "admin"
    And the simulated deployment is changed by the merge patch
      """
      {"nova": {"glance": {"verify_glance_signatures": true}}}
      """
    When "admin" boots the image on the host "compute-0"
    Then "admin" sees the server become "ACTIVE"
    When "admin" boots the image on the host "compute-1"
    Then "admin" sees the server fail with the fault "Build of instance {server} aborted: Signature verification for the image failed: Required image properties for signature verification do not exist. Cannot verify signature. Missing property: img_signature_uuid."

  @id:546e7eca-4b70-4a5e-98a8-40363e23041f @optional:compute @optional:cached_images_verified=false @allow.skipped
  Scenario: Nova boots a cached image whose signature no longer matches its data
    The same limitation on any cloud, without the control API. The first boot downloads the
    image, verifies it and leaves it in its host's image cache (_base). Glance takes a
    signature of other data without verifying it again, and a second server forced onto that
    host ("admin" reads the host and boots in the availability zone "<zone>:<host>") is made
    from the cache: nobody verifies it. Another image with the same data and the same
    signature, cached nowhere, is downloaded and refused on every host the build tries
    (cryptography's InvalidSignature reschedules until the conductor gives up; it is not forced
    onto the host, because Nova does not reschedule a build forced onto one host). Every
    boot trusts the signing certificate: that makes Nova verify even with
    verify_glance_signatures off, and gives certificate validation, where it is on, a
    certificate to validate against.

    Given "admin" stored the certificate "fixtures/pki/signing/rsa-3072.crt.pem" as secret "signing"
    And 50000 bytes of image data signed by "fixtures/pki/signing/rsa-3072.key.pem" with "RSA-PSS" and "SHA-256"
    And "admin" created an active image signed with secret "signing"
    When "admin" boots the image trusting the certificates "signing"
    Then "admin" sees the server become "ACTIVE"
    Given the signature is now one of other data, by "fixtures/pki/signing/rsa-3072.key.pem" with "RSA-PSS" and "SHA-256"
    When "admin" replaces the image property "img_signature" with "{signature}"
    Then the request is answered 200
    And the image property "img_signature" is "{signature}"
    When "admin" boots the image on the server's host trusting the certificates "signing"
    Then "admin" sees the server become "ACTIVE"
    Given "admin" uploaded the signed data as an unsigned image
    And "admin" added to the image the properties
      | img_signature                  | {signature}      |
      | img_signature_hash_method      | SHA-256          |
      | img_signature_key_type         | RSA-PSS          |
      | img_signature_certificate_uuid | {secret:signing} |
    When "admin" boots the image trusting the certificates "signing"
    Then "admin" sees the server fail with the fault "Exceeded maximum number of retries. Exhausted all hosts available for retrying build failures for instance {server}."

  @id:583baf89-14aa-46af-8abb-1349d52b1a7f @optional:compute @allow.skipped @simulated @serial
  Scenario: A hard reboot does not verify an image already cached on the compute host
    The server was booted from an unsigned image before verification was turned on, which
    left the image in its host's cache; a hard reboot re-creates the disk from that cache
    without downloading, so nothing is verified and the server comes back ACTIVE.

    Given the simulated deployment is changed by the merge patch
      """
      {"nova": {"glance": {"verify_glance_signatures": false}},
       "compute_nodes": [{"host": "compute-0", "images_type": "local"}, {"host": "compute-1", "images_type": "local"}]}
      """
    And 5000 bytes of image data signed by "fixtures/pki/signing/rsa-2048.key.pem" with "RSA-PSS" and "SHA-256"
    And "admin" uploaded the signed data as an unsigned image
    When "admin" boots the image
    Then "admin" sees the server become "ACTIVE"
    Given the simulated deployment is changed by the merge patch
      """
      {"nova": {"glance": {"verify_glance_signatures": true}}}
      """
    When "admin" hard reboots the server
    Then "admin" sees the server become "ACTIVE"

  @id:f789e875-e3bb-4a8c-ac06-81da1ffb9ea6 @optional:compute @allow.skipped @simulated @serial
  Scenario: Instance HA cannot evacuate a server of a signed image whose certificate it may not read
    On a failed compute host, the instance-HA service (Masakari) evacuates the servers with the
    token of its own user, "instance-ha", of another project. On a host with local storage the
    evacuated server is rebuilt from its image on another host, which downloads and verifies
    the image again: that fetches the signing certificate from Barbican with the instance-HA
    user's token. The image is "community" so that user can read it; the certificate is not
    shared. A rebuild's fault carries the exception's raw message, without a prefix.

    Given the simulated deployment is changed by the merge patch
      """
      {"nova": {"glance": {"verify_glance_signatures": true, "enable_certificate_validation": false}},
       "compute_nodes": [{"host": "compute-0", "images_type": "local"}, {"host": "compute-1", "images_type": "local"}]}
      """
    And "demo" holds the "creator" role in its project
    And "demo" stored the certificate "fixtures/pki/signing/rsa-3072.crt.pem" as secret "signing"
    And 50000 bytes of image data signed by "fixtures/pki/signing/rsa-3072.key.pem" with "RSA-PSS" and "SHA-256"
    And "demo" created an active image signed with secret "signing"
    When "demo" replaces the image property "visibility" with "community"
    And "demo" boots the image
    Then "demo" sees the server become "ACTIVE"
    When the server's compute host fails and "instance-ha" evacuates its servers
    Then "demo" sees the server fail with the fault "Signature verification for the image failed: Unable to retrieve certificate with ID: {secret:signing}."

  @id:d39af6bf-2fef-4a3d-bea0-8fb32852e9c2 @optional:compute @allow.skipped @simulated @serial
  Scenario: A read ACL on the certificate lets instance HA evacuate the server
    Given the simulated deployment is changed by the merge patch
      """
      {"nova": {"glance": {"verify_glance_signatures": true, "enable_certificate_validation": false}},
       "compute_nodes": [{"host": "compute-0", "images_type": "local"}, {"host": "compute-1", "images_type": "local"}]}
      """
    And "demo" holds the "creator" role in its project
    And "demo" stored the certificate "fixtures/pki/signing/rsa-3072.crt.pem" as secret "signing"
    And "demo" grants "instance-ha" read access to secret "signing"
    And 50000 bytes of image data signed by "fixtures/pki/signing/rsa-3072.key.pem" with "RSA-PSS" and "SHA-256"
    And "demo" created an active image signed with secret "signing"
    When "demo" replaces the image property "visibility" with "community"
    And "demo" boots the image
    Then "demo" sees the server become "ACTIVE"
    When the server's compute host fails and "instance-ha" evacuates its servers
    Then "demo" sees the server become "ACTIVE"

  @id:303e99dd-4b7c-4c60-9a74-ce6cdfba96e3 @optional:compute @allow.skipped @simulated @serial
  Scenario: Nova does not verify a RAW image that Ceph clones
    A compute node whose ephemeral storage is Ceph RBD ([libvirt] images_type = rbd) clones a
    RAW image inside Ceph instead of downloading it, so the download's verification never
    runs; a node with local storage downloads the same image and refuses it. (A JSON merge
    patch replaces a whole list, so the patch lists every compute node.)

    Given the simulated deployment is changed by the merge patch
      """
      {"nova": {"glance": {"verify_glance_signatures": true}},
       "compute_nodes": [{"host": "compute-0", "images_type": "local"},
                         {"host": "compute-1", "images_type": "local"},
                         {"host": "ceph-0", "images_type": "rbd"}]}
      """
    And 5000 bytes of image data signed by "fixtures/pki/signing/rsa-2048.key.pem" with "RSA-PSS" and "SHA-256"
    And "admin" uploaded the signed data as an unsigned image
    When "admin" boots the image on the host "ceph-0"
    Then "admin" sees the server become "ACTIVE"
    When "admin" boots the image on the host "compute-0"
    Then "admin" sees the server fail with the fault "Build of instance {server} aborted: Signature verification for the image failed: Required image properties for signature verification do not exist. Cannot verify signature. Missing property: img_signature_uuid."

  @id:28e900c3-d273-4ee7-b827-81c9188b49b8 @optional:volume @optional:cinder_verification @allow.skipped @simulated @serial
  Scenario: Cinder does not verify a RAW image that Ceph clones into a volume
    A Cinder back end on Ceph RBD clones a RAW image inside Ceph (the driver's clone_image), so
    nothing is downloaded and nothing is verified: the volume is created from a tampered image
    and gets no signature_verified key. The default LVM back end downloads the same image,
    verifies it and fails. Each back end's name is its volume type's.

    Given the simulated deployment is changed by the merge patch
      """
      {"cinder": {"backends": [{"name": "lvmdriver-1", "driver": "lvm"}, {"name": "ceph", "driver": "rbd"}]}}
      """
    And "admin" stored the certificate "fixtures/pki/signing/rsa-3072.crt.pem" as secret "signing"
    And 50000 bytes of image data signed by "fixtures/pki/signing/rsa-3072.key.pem" with "RSA-PSS" and "SHA-256"
    And "admin" uploaded the signed data with a byte changed as an unsigned image
    And "admin" added to the image the properties
      | img_signature                  | {signature}      |
      | img_signature_hash_method      | SHA-256          |
      | img_signature_key_type         | RSA-PSS          |
      | img_signature_certificate_uuid | {secret:signing} |
    When "admin" creates a 1 GiB volume of type "ceph" from the image
    Then "admin" sees the volume become "available"
    And "admin" sees no volume image metadata "signature_verified"
    When "admin" creates a 1 GiB volume from the image
    Then "admin" sees the volume become "error"

  @id:cedd7b57-62ce-444e-a187-9e420b121163 @optional:compute @optional:volume @allow.skipped @simulated @serial
  Scenario: A server booted from a volume escapes certificate validation
    With certificate validation on and no trusted certificate ids, an image whose certificate
    chains up to nothing does not boot. A volume made from the same image is verified by
    Cinder (signature only) and the server booted from that volume becomes ACTIVE: Nova never
    downloads the image, so it validates no certificate.

    Given the simulated deployment is changed by the merge patch
      """
      {"nova": {"glance": {"verify_glance_signatures": true, "enable_certificate_validation": true}},
       "compute_nodes": [{"host": "compute-0", "images_type": "local"}, {"host": "compute-1", "images_type": "local"}]}
      """
    And "admin" stored the certificate "fixtures/pki/chain/client.crt.pem" as secret "untrusted"
    And 50000 bytes of image data signed by "fixtures/pki/chain/client.key.pem" with "RSA-PSS" and "SHA-256"
    And "admin" created an active image signed with secret "untrusted"
    When "admin" boots the image
    Then "admin" sees the server fail with the fault "Build of instance {server} aborted: Image signature certificate validation enabled, but no trusted certificate IDs were provided. Unable to validate the certificate used to verify the image signature."
    When "admin" creates a 1 GiB volume from the image
    Then "admin" sees the volume become "available"
    And "admin" sees the volume image metadata "signature_verified" is "True"
    When "admin" boots from the volume
    Then "admin" sees the server become "ACTIVE"
