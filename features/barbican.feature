@barbican
Feature: Barbican stores the certificates that sign images
  Nova's "Image signature certificate validation" document stores every certificate of the
  chain in Barbican as secret_type "certificate", algorithm "RSA", payload_content_type
  "application/octet-stream", payload_content_encoding "base64", the payload being the base64
  of the PEM file. Glance, Nova and Cinder then fetch it (through castellan) with the token of
  the user who uploads or boots the image, so who may store and who may read a certificate
  decides who can sign and use images.

  Barbican's default (legacy) policy: storing needs the "admin" or "creator" role, a plain
  member is refused with 403; a user of another project gets 403 (not 404) on read unless the
  secret's read ACL lists that user; an expired secret behaves as deleted (404).
  Reference: docs/reference/openstack-behaviour.md D1, D2, D6, D7; barbican-tempest-plugin (F).

  @id:587af579-d65c-4e8b-a072-e4014a91a172 @required @serial
  Scenario: A user with the creator role stores a certificate as the Nova document does
    Given "demo" holds the "creator" role in its project
    When "demo" stores the certificate "fixtures/pki/chain/client.crt.pem" as secret "client"
    Then the request is answered 201
    And "demo" reads secret "client" as a "certificate" secret with algorithm "RSA"
    And the payload of secret "client" read by "demo" as "application/octet-stream" is the file "fixtures/pki/chain/client.crt.pem"

  @id:9f2640e7-3e05-40b6-9e4c-1ac42e7327ae @required
  Scenario: A member without the creator role may not store a certificate
    When "demo" stores the certificate "fixtures/pki/chain/client.crt.pem" as secret "refused"
    Then the request is answered 403 with the message "Secret creation attempt not allowed - please review your user/project privileges"

  @id:7f00770e-5280-401e-afc0-5dd440061278 @required
  Scenario: A user of another project may not read the certificate
    Given "admin" stored the certificate "fixtures/pki/chain/client.crt.pem" as secret "private"
    When "alt_demo" reads the metadata of secret "private"
    Then the request is answered 403 with the message "Secret retrieval attempt not allowed - please review your user/project privileges"

  @id:e973fdce-48b9-4290-af85-1e476c3aaff4 @required
  Scenario: A read ACL lets a user of another project read the certificate
    Given "admin" stored the certificate "fixtures/pki/chain/client.crt.pem" as secret "shared"
    And "admin" grants "alt_demo" read access to secret "shared"
    When "alt_demo" reads the metadata of secret "shared"
    Then the request is answered 200
    And the payload of secret "shared" read by "alt_demo" as "application/octet-stream" is the file "fixtures/pki/chain/client.crt.pem"

  @id:895fdac4-32e6-4200-be97-6acaa1839ddd @required
  Scenario: An expired certificate secret is gone
    Given "admin" stored the certificate "fixtures/pki/chain/client.crt.pem" as secret "brief" expiring in 2 seconds
    When 3 seconds have passed
    And "admin" reads the metadata of secret "brief"
    Then the request is answered 404 with the message "Secret not found."
