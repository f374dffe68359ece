@nova
Feature: Nova validates the signing certificate against the certificates the user trusts
  From compute API microversion 2.63 a server create may carry "trusted_image_certificates",
  a list of Barbican secret ids. A list given by the user forces both signature verification
  and certificate validation on the compute host, even when nova.conf's
  verify_glance_signatures and enable_certificate_validation are both off (the upstream
  defaults): the signing certificate must chain up, through certificates of that list, to one
  of them. A build that fails the check is aborted, not rescheduled: the server goes to ERROR
  with the fault "Build of instance <id> aborted: <reason>", cut at 255 characters.

  The certificates are the four-certificate chain of Nova's "Image signature certificate
  validation" document (root, intermediate-a, intermediate-b, client), stored in Barbican by
  the user who boots, and the image is signed with the client key.
  Reference: docs/reference/openstack-behaviour.md B2, B3, B5; nova's certificate-validation.rst.

  In the messages below {server} stands for the new server's id, {server name} for its name,
  {image} for the image's id, {flavor} and {networks} for the flavor and networks the server
  create sent, {secret:<name>} for the id of a secret stored in the scenario, and
  'c0', …, 'c50' for the 51 quoted ids c0 to c50.

  @id:0e59e8c0-b4f3-492d-b178-ac624cbe74af @tempest:b41bc663-5662-4b1e-b8f1-27b2876f16a6 @optional:compute @allow.skipped @serial
  Scenario: An image whose signing certificate chains up to a trusted certificate boots
    Given "demo" holds the "creator" role in its project
    And "demo" stored the certificate "fixtures/pki/chain/root.crt.pem" as secret "root"
    And "demo" stored the certificate "fixtures/pki/chain/intermediate-a.crt.pem" as secret "intermediate-a"
    And "demo" stored the certificate "fixtures/pki/chain/intermediate-b.crt.pem" as secret "intermediate-b"
    And "demo" stored the certificate "fixtures/pki/chain/client.crt.pem" as secret "client"
    And 100000 bytes of image data signed by "fixtures/pki/chain/client.key.pem" with "RSA-PSS" and "SHA-256"
    And "demo" created an active image signed with secret "client"
    When "demo" boots the image trusting the certificates "root, intermediate-a, intermediate-b"
    Then "demo" sees the server become "ACTIVE"

  @id:557c6302-080f-4360-993c-08b6e840fd9e @tempest:6d354881-35a6-4568-94b8-2204bbf67b29 @optional:compute @allow.skipped @serial
  Scenario: An image whose signing certificate does not chain up to a trusted certificate fails to build
    Given "demo" holds the "creator" role in its project
    And "demo" stored the certificate "fixtures/pki/chain/intermediate-a.crt.pem" as secret "intermediate-a"
    And "demo" stored the certificate "fixtures/pki/chain/client.crt.pem" as secret "client"
    And 100000 bytes of image data signed by "fixtures/pki/chain/client.key.pem" with "RSA-PSS" and "SHA-256"
    And "demo" created an active image signed with secret "client"
    When "demo" boots the image trusting the certificates "intermediate-a"
    Then "demo" sees the server fail with the fault "Build of instance {server} aborted: Image signature certificate validation failed for certificate: {secret:client}. Certificate chain building failed. Could not locate the signing certificate for the base c"

  @id:c26ab89f-2f78-4c7d-882f-f74134e3d44d @optional:compute @allow.skipped
  Scenario: Before microversion 2.63 the field is refused
    Given 1000 bytes of image data signed by "fixtures/pki/chain/client.key.pem" with "RSA-PSS" and "SHA-256"
    And "demo" uploaded the signed data as an unsigned image
    When "demo" boots the image at microversion "2.62" with the trusted_image_certificates '["a"]'
    Then the request is answered 400 with the message "Invalid input for field/attribute server. Value: {'flavorRef': '{flavor}', 'imageRef': '{image}', 'name': '{server name}', 'networks': {networks}, 'trusted_image_certificates': ['a']}. Additional properties are not allowed ('trusted_image_certificates' was unexpected)"

  Scenario Outline: The list of trusted certificates must follow the API schema
    Given 1000 bytes of image data signed by "fixtures/pki/chain/client.key.pem" with "RSA-PSS" and "SHA-256"
    And "demo" uploaded the signed data as an unsigned image
    When "demo" boots the image with the trusted_image_certificates '<value>'
    Then the request is answered 400 with the message "Invalid input for field/attribute <field>. Value: <shown>. <reason>"

    @id:444ec3e6-1510-4c3d-b19c-0c78fee717cf @optional:compute @allow.skipped
    Examples: an empty list (jsonschema 4.23 and later)
      | value | field                      | shown | reason                 |
      | []    | trusted_image_certificates | []    | [] should be non-empty |

    @id:068e43fb-a72a-46ec-8075-808f530b66f6 @optional:compute @allow.skipped
    Examples: an id given twice
      | value      | field                      | shown      | reason                             |
      | ["a", "a"] | trusted_image_certificates | ['a', 'a'] | ['a', 'a'] has non-unique elements |

    @id:4311c28b-4242-4bc1-b8cd-b268c5eb9182 @optional:compute @allow.skipped
    Examples: more than 50 ids
      | value            | field                      | shown            | reason                       |
      | ["c0", …, "c50"] | trusted_image_certificates | ['c0', …, 'c50'] | ['c0', …, 'c50'] is too long |

    @id:70547c10-c100-4163-b0e2-9b34324dd151 @optional:compute @allow.skipped
    Examples: an empty id (jsonschema 4.23 and later; the field is the item's index)
      | value | field | shown | reason                 |
      | [""]  | 0     |       | '' should be non-empty |

    @id:c02155b1-e408-4e12-9694-04e1fdf349f2 @optional:compute @allow.skipped
    Examples: ids that are not strings (the field is the first bad item's index)
      | value  | field | shown | reason                      |
      | [1, 2] | 0     | 1     | 1 is not of type 'string'   |

    @id:24ae6b49-d21f-4c8b-a162-102bd2ded48b @optional:compute @allow.skipped
    Examples: a string instead of a list
      | value | field                      | shown | reason                              |
      | "x"   | trusted_image_certificates | x     | 'x' is not of type 'array', 'null' |

  @id:f26c1f63-b21d-4f76-8b53-fb75796d4fab @optional:compute @allow.skipped
  Scenario: Trusted certificates are refused when booting from a volume
    When "demo" boots from the volume "5b0c7a1e-3d4f-4e2a-9c8b-7a6f5e4d3c2b" with the trusted_image_certificates '["a"]'
    Then the request is answered 400 with the message "Image certificate validation is not supported when booting from volume"

  @id:f2e9ad16-671a-441d-88a3-cfc0e2f28905 @tempest:f9c6de51-b027-476f-a6e3-847bb39cfa02 @optional:compute @optional:certificate_validation=false @allow.skipped @serial
  Scenario: A server rebuilt with trusted certificates validates the new image
    The server is first booted from a signed image without trusted certificates, which needs
    certificate validation off (on, Nova refuses a boot without trusted certificates); the
    signed image also boots where Nova verifies signatures. The rebuild to a
    second signed image carries the list, which the rebuild answer shows, and the compute
    host validates the new image's signing certificate against it.

    Given "demo" holds the "creator" role in its project
    And "demo" stored the certificate "fixtures/pki/chain/root.crt.pem" as secret "root"
    And "demo" stored the certificate "fixtures/pki/chain/intermediate-a.crt.pem" as secret "intermediate-a"
    And "demo" stored the certificate "fixtures/pki/chain/intermediate-b.crt.pem" as secret "intermediate-b"
    And "demo" stored the certificate "fixtures/pki/chain/client.crt.pem" as secret "client"
    And 100000 bytes of image data signed by "fixtures/pki/chain/client.key.pem" with "RSA-PSS" and "SHA-256"
    And "demo" created an active image signed with secret "client"
    When "demo" boots the image
    Then "demo" sees the server become "ACTIVE"
    Given "demo" created an active image signed with secret "client"
    When "demo" rebuilds the server with the image trusting the certificates "root, intermediate-a, intermediate-b"
    Then "demo" sees the server become "ACTIVE"
    And "demo" sees the server's trusted_image_certificates are "root, intermediate-a, intermediate-b"

  @id:bd53b9af-cbb2-437e-b2a4-7084124dcba0 @tempest:aed5254d-1e7a-46b6-8cb0-ef5fd798671a @optional:compute @allow.skipped @serial
  Scenario: A server booted with trusted certificates survives a hard reboot
    Given "demo" holds the "creator" role in its project
    And "demo" stored the certificate "fixtures/pki/chain/root.crt.pem" as secret "root"
    And "demo" stored the certificate "fixtures/pki/chain/intermediate-a.crt.pem" as secret "intermediate-a"
    And "demo" stored the certificate "fixtures/pki/chain/intermediate-b.crt.pem" as secret "intermediate-b"
    And "demo" stored the certificate "fixtures/pki/chain/client.crt.pem" as secret "client"
    And 100000 bytes of image data signed by "fixtures/pki/chain/client.key.pem" with "RSA-PSS" and "SHA-256"
    And "demo" created an active image signed with secret "client"
    When "demo" boots the image trusting the certificates "root, intermediate-a, intermediate-b"
    Then "demo" sees the server become "ACTIVE"
    When "demo" hard reboots the server
    Then "demo" sees the server become "ACTIVE"

  @id:e7f2757e-99ef-48c8-b612-4ebc1bc16a7c @optional:compute @allow.skipped @simulated @serial
  Scenario: The configured default trusted certificates apply when the user gives none
    With verify_glance_signatures and enable_certificate_validation both on, nova.conf's
    default_trusted_certificate_ids stand in for a list the user does not give, and Nova
    persists them on the server, which shows them as its trusted_image_certificates.

    Given "demo" holds the "creator" role in its project
    And "demo" stored the certificate "fixtures/pki/chain/root.crt.pem" as secret "root"
    And "demo" stored the certificate "fixtures/pki/chain/intermediate-a.crt.pem" as secret "intermediate-a"
    And "demo" stored the certificate "fixtures/pki/chain/intermediate-b.crt.pem" as secret "intermediate-b"
    And "demo" stored the certificate "fixtures/pki/chain/client.crt.pem" as secret "client"
    And the simulated deployment is changed by the merge patch
      """
      {"nova": {"glance": {"verify_glance_signatures": true, "enable_certificate_validation": true,
                           "default_trusted_certificate_ids": ["{secret:root}", "{secret:intermediate-a}", "{secret:intermediate-b}"]}}}
      """
    And 100000 bytes of image data signed by "fixtures/pki/chain/client.key.pem" with "RSA-PSS" and "SHA-256"
    And "demo" created an active image signed with secret "client"
    When "demo" boots the image
    Then "demo" sees the server become "ACTIVE"
    And "demo" sees the server's trusted_image_certificates are "root, intermediate-a, intermediate-b"

  @id:efb1ff16-da03-4f01-aac4-e233c456b6ac @optional:compute @allow.skipped @simulated @serial
  Scenario: A policy that denies trusted certificates refuses the server create
    The rule os_compute_api:servers:create:trusted_certs is checked only when the request
    carries a non-empty list. Nova's verification is off here, so the unsigned image boots.

    Given the simulated deployment is changed by the merge patch
      """
      {"nova": {"policy": {"os_compute_api:servers:create:trusted_certs": "!"},
                "glance": {"verify_glance_signatures": false}}}
      """
    And 1000 bytes of image data signed by "fixtures/pki/chain/client.key.pem" with "RSA-PSS" and "SHA-256"
    And "demo" uploaded the signed data as an unsigned image
    When "demo" boots the image with the trusted_image_certificates '["{missing}"]'
    Then the request is answered 403 with the message "Policy doesn't allow os_compute_api:servers:create:trusted_certs to be performed."
    When "demo" boots the image
    Then "demo" sees the server become "ACTIVE"
