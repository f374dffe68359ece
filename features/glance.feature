@glance
Feature: Glance verifies image signatures on upload
  When an image carries all four signature properties (img_signature,
  img_signature_hash_method, img_signature_key_type, img_signature_certificate_uuid), Glance
  fetches the certificate from Barbican with the uploader's token before reading any data,
  verifies the uploaded bytes against the signature, and only then makes the image "active".
  With none, or only some, of the properties nothing is verified.

  Every verification failure answers 400 with the explanation
  "Signature verification failed for image <id>: <reason>", where <reason> is cursive's
  message, and leaves the image "queued" (since Glance 23.0.0, Xena), ready for another upload.
  Changing the properties later with PATCH never verifies again.
  Reference: docs/reference/openstack-behaviour.md A2, A3, A4, A5; the tempest image-signing tests (F).

  In the messages below {image} stands for the new image's id, {secret:<name>} for the id of a
  secret stored in the scenario, and {missing} for a random id no secret has.

  Background:
    Given "admin" stored the certificate "fixtures/pki/signing/rsa-3072.crt.pem" as secret "signing"
    And 200000 bytes of image data signed by "fixtures/pki/signing/rsa-3072.key.pem" with "RSA-PSS" and "SHA-256"

  @id:c295844a-f095-4260-9003-6c2f7c3e6180 @required
  Scenario: A signed image whose signature verifies becomes active
    When "admin" creates an image with the properties
      | img_signature                  | {signature}       |
      | img_signature_hash_method      | SHA-256           |
      | img_signature_key_type         | RSA-PSS           |
      | img_signature_certificate_uuid | {secret:signing}  |
    And "admin" uploads the signed data
    Then the request is answered 204
    And the image status is "active"
    And "admin" downloads exactly the signed data

  @id:19827147-9923-479f-8f04-e4dd88a6e80e @required
  Scenario: An unsigned image is accepted without verification
    When "demo" creates an image without signature properties
    And "demo" uploads the signed data
    Then the request is answered 204
    And the image status is "active"

  @id:f26f595f-c388-4b67-997c-747754651ff6 @required
  Scenario: An image with only some of the signature properties is not verified
    When "demo" creates an image with the properties
      | img_signature             | fake_signature |
      | img_signature_hash_method | MD5            |
      | img_signature_key_type    | nonsense       |
    And "demo" uploads the signed data
    Then the request is answered 204
    And the image status is "active"

  Scenario Outline: A signature that cannot be verified refuses the upload and leaves the image queued
    When "admin" creates an image with the properties
      | img_signature                  | <signature>   |
      | img_signature_hash_method      | <hash>        |
      | img_signature_key_type         | <key type>    |
      | img_signature_certificate_uuid | <certificate> |
    And "admin" uploads <data>
    Then the request is answered 400 with the message "Signature verification failed for image {image}: <reason>"
    And the image status is "queued"

    @id:f6bf9c6e-68c3-4fd7-8823-818c32ef022d @required
    Examples: the signature is not base64
      | signature      | hash    | key type | certificate      | data            | reason                                                                                                  |
      | fake_signature | SHA-256 | RSA-PSS  | {secret:signing} | the signed data | Signature verification for the image failed: The signature data was not properly encoded using base64. |

    @id:be8c6075-9121-4b9b-bf7c-66f727bdb39d @required
    Examples: the hash method is unknown
      | signature   | hash  | key type | certificate      | data            | reason                                                                   |
      | {signature} | SHA-1 | RSA-PSS  | {secret:signing} | the signed data | Signature verification for the image failed: Invalid signature hash method: SHA-1. |

    @id:dd9f9ec0-9677-4c1c-b135-c08dd83f2971 @required
    Examples: the key type is unknown
      | signature   | hash    | key type | certificate      | data            | reason                                                                   |
      | {signature} | SHA-256 | RSA-SSA  | {secret:signing} | the signed data | Signature verification for the image failed: Invalid signature key type: RSA-SSA. |

    @id:42d11329-d418-4529-886b-37ce38e3f60e @optional:key_type_profile=current @allow.skipped
    Examples: a binary curve, removed from current cursive (pyca/cryptography 47 and later)
      | signature   | hash    | key type      | certificate      | data            | reason                                                                         |
      | {signature} | SHA-256 | ECC_SECT571K1 | {secret:signing} | the signed data | Signature verification for the image failed: Invalid signature key type: ECC_SECT571K1. |

    @id:adbc3f74-b687-445b-8e0c-c50d26d40bf6 @required
    Examples: no certificate has the given id
      | signature   | hash    | key type | certificate | data            | reason                                                                                  |
      | {signature} | SHA-256 | RSA-PSS  | {missing}   | the signed data | Signature verification for the image failed: Certificate not found with ID: {missing}. |

    @id:8fe73648-b231-4d89-ab38-98763839abbb @required
    Examples: the key type does not match the certificate's key
      | signature   | hash    | key type | certificate      | data            | reason                                                                                  |
      | {signature} | SHA-256 | DSA      | {secret:signing} | the signed data | Signature verification for the image failed: Invalid public key type for signature key type: DSA. |

    @id:32bf8f8f-73c9-4327-917d-a5c009d4e247 @required
    Examples: the uploaded data is not the signed data
      | signature   | hash    | key type | certificate      | data                              | reason                         |
      | {signature} | SHA-256 | RSA-PSS  | {secret:signing} | the signed data with a byte changed | Signature verification failed |

  Scenario Outline: A certificate secret that Barbican no longer returns, or returns as no certificate, refuses the upload
    An expired secret behaves in Barbican exactly as a deleted one (docs/reference/openstack-behaviour.md D6),
    so Glance reports the certificate as not found. A secret stored with secret_type "opaque"
    (Barbican's default) is returned by castellan as an opaque object, which is no X.509
    certificate even when its payload is one.

    Given "admin" stored the certificate "fixtures/pki/signing/rsa-3072.crt.pem" as <kind of> secret "other"
    When "admin" creates an image with the properties
      | img_signature                  | {signature}     |
      | img_signature_hash_method      | SHA-256         |
      | img_signature_key_type         | RSA-PSS         |
      | img_signature_certificate_uuid | {secret:other}  |
    And "admin" uploads the signed data
    Then the request is answered 400 with the message "Signature verification failed for image {image}: <reason>"
    And the image status is "queued"

    @id:5e99bff5-0aec-40b0-b5f5-9d5fde46c680 @required
    Examples: the certificate secret has expired
      | kind of    | reason                                                                                      |
      | an expired | Signature verification for the image failed: Certificate not found with ID: {secret:other}. |

    @id:0cfc4f39-c43f-460f-a44c-9e79efb4a522 @required
    Examples: the secret is not of type certificate
      | kind of   | reason                                                                 |
      | an opaque | Signature verification for the image failed: Invalid certificate format: Opaque. |

  @id:696bfc28-c185-4350-935f-833bb089fd2b @required
  Scenario: An image imported with glance-direct is verified at import and becomes active
    Staging stores the data without verifying it (the image is "uploading"); the import task
    verifies it as an upload does (docs/reference/openstack-behaviour.md A8).
    Given "admin" created an image signed with secret "signing"
    When "admin" stages the signed data
    Then the request is answered 204
    And the image status is "uploading"
    When "admin" imports the staged data with the method "glance-direct"
    Then the request is answered 202
    And once the import has ended the image status is "active"
    And "admin" downloads exactly the signed data

  @id:b0f3d3ff-b799-404b-b5af-6360eef1ce9f @required
  Scenario: A glance-direct import of data that is not the signed data fails
    The import request itself is accepted (202); the import task then fails verification and
    the image never becomes active. The task says only that it failed (the reason is in
    Glance's log); Glance 33 with one file store leaves the image "importing".
    Given "admin" created an image signed with secret "signing"
    When "admin" stages the signed data with a byte changed
    And "admin" imports the staged data with the method "glance-direct"
    Then the request is answered 202
    And once the import task has ended it has the status "failure" and the message "Task failed due to Internal Error"
    And the image status is not "active"

  @id:70afa3bd-b9ee-40de-8393-fee3d99eecb4 @required
  Scenario: Replacing the signature of an active image does not verify it again
    Given "admin" created an active image signed with secret "signing"
    When "admin" replaces the image property "img_signature" with "fake_signature"
    Then the request is answered 200
    And the image status is "active"
    And the image property "img_signature" is "fake_signature"

  @id:84bd1331-66c2-493c-ad8b-5b46eafb8f5f @optional:simulated_control @simulated @serial
  Scenario: Barbican failing to answer refuses the upload
    Given "admin" created an image signed with secret "signing"
    And the simulated Barbican answers 503 to "GET /v1/secrets/{id}"
    When "admin" uploads the signed data
    Then the request is answered 400 with the message "Signature verification failed for image {image}: Signature verification for the image failed: Unable to retrieve certificate with ID: {secret:signing}."
    And the image status is "queued"
