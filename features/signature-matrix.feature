@glance @matrix
Feature: Every supported hash method and key type signs an image
  cursive, and so Glance, accepts four hash methods (SHA-224, SHA-256, SHA-384, SHA-512) and, on
  current cursive (0.3.1 on pyca/cryptography 47 and later), four key types: RSA-PSS, DSA,
  ECC_SECP384R1 and ECC_SECP521R1 (the binary curves are gone). Every combination must verify
  on upload: the certificate of the key is stored in Barbican, the data is signed with the key
  over the digest of the hash method (RSA-PSS with MGF1 and the maximum salt length; DSA and
  ECDSA as DER), and the upload makes the image "active".

  The ECC curve in the key type is a name only: cursive verifies with whatever EC key the
  certificate holds, so each ECC type is shown here with a key on its own curve.
  Reference: docs/reference/openstack-behaviour.md A2, A3; cursive's signature_utils.

  Scenario Outline: A signature made with a supported key type and hash method verifies on upload
    Given "admin" stored the certificate "<certificate>" as secret "signing"
    And 20000 bytes of image data signed by "<key>" with "<key type>" and "<hash>"
    When "admin" creates an image with the properties
      | img_signature                  | {signature}      |
      | img_signature_hash_method      | <hash>           |
      | img_signature_key_type         | <key type>       |
      | img_signature_certificate_uuid | {secret:signing} |
    And "admin" uploads the signed data
    Then the request is answered 204
    And the image status is "active"

    @id:45f0e73f-0673-4f8a-b69a-7c9922628d06 @optional:key_type_profile=current @allow.skipped
    Examples: RSA-PSS with SHA-224
      | key type | certificate                           | key                                   | hash    |
      | RSA-PSS  | fixtures/pki/signing/rsa-2048.crt.pem | fixtures/pki/signing/rsa-2048.key.pem | SHA-224 |

    @id:e317da8d-3015-4698-be06-b5ee3dfcee39 @optional:key_type_profile=current @allow.skipped
    Examples: RSA-PSS with SHA-256
      | key type | certificate                           | key                                   | hash    |
      | RSA-PSS  | fixtures/pki/signing/rsa-2048.crt.pem | fixtures/pki/signing/rsa-2048.key.pem | SHA-256 |

    @id:74b135bd-5309-498d-85df-c0f7b0d6f468 @optional:key_type_profile=current @allow.skipped
    Examples: RSA-PSS with SHA-384
      | key type | certificate                           | key                                   | hash    |
      | RSA-PSS  | fixtures/pki/signing/rsa-2048.crt.pem | fixtures/pki/signing/rsa-2048.key.pem | SHA-384 |

    @id:a4e4ebc2-8293-404d-b2cc-0007241d1525 @optional:key_type_profile=current @allow.skipped
    Examples: RSA-PSS with SHA-512
      | key type | certificate                           | key                                   | hash    |
      | RSA-PSS  | fixtures/pki/signing/rsa-2048.crt.pem | fixtures/pki/signing/rsa-2048.key.pem | SHA-512 |

    @id:5a066eb9-ebe3-4c61-8d2c-a7729a17ff7e @optional:key_type_profile=current @allow.skipped
    Examples: DSA with SHA-224
      | key type | certificate                               | key                                       | hash    |
      | DSA      | fixtures/pki/signing/dsa-2048-256.crt.pem | fixtures/pki/signing/dsa-2048-256.key.pem | SHA-224 |

    @id:b481cd9b-faeb-4a45-8269-5ac0bcc76d69 @optional:key_type_profile=current @allow.skipped
    Examples: DSA with SHA-256
      | key type | certificate                               | key                                       | hash    |
      | DSA      | fixtures/pki/signing/dsa-2048-256.crt.pem | fixtures/pki/signing/dsa-2048-256.key.pem | SHA-256 |

    @id:004d8e20-1650-4c82-ac77-1e4270d4b94f @optional:key_type_profile=current @allow.skipped
    Examples: DSA with SHA-384
      | key type | certificate                               | key                                       | hash    |
      | DSA      | fixtures/pki/signing/dsa-2048-256.crt.pem | fixtures/pki/signing/dsa-2048-256.key.pem | SHA-384 |

    @id:5a174a26-17c8-44aa-8563-e0b5c796926b @optional:key_type_profile=current @allow.skipped
    Examples: DSA with SHA-512
      | key type | certificate                               | key                                       | hash    |
      | DSA      | fixtures/pki/signing/dsa-2048-256.crt.pem | fixtures/pki/signing/dsa-2048-256.key.pem | SHA-512 |

    @id:08c15794-311e-4665-884a-20341ee76994 @optional:key_type_profile=current @allow.skipped
    Examples: ECC_SECP384R1 with SHA-224
      | key type      | certificate                          | key                                  | hash    |
      | ECC_SECP384R1 | fixtures/pki/signing/ec-p384.crt.pem | fixtures/pki/signing/ec-p384.key.pem | SHA-224 |

    @id:b1f40604-7173-4711-b676-f925dae05622 @optional:key_type_profile=current @allow.skipped
    Examples: ECC_SECP384R1 with SHA-256
      | key type      | certificate                          | key                                  | hash    |
      | ECC_SECP384R1 | fixtures/pki/signing/ec-p384.crt.pem | fixtures/pki/signing/ec-p384.key.pem | SHA-256 |

    @id:4832c165-913e-4e9f-a14a-6ebe83190f86 @optional:key_type_profile=current @allow.skipped
    Examples: ECC_SECP384R1 with SHA-384
      | key type      | certificate                          | key                                  | hash    |
      | ECC_SECP384R1 | fixtures/pki/signing/ec-p384.crt.pem | fixtures/pki/signing/ec-p384.key.pem | SHA-384 |

    @id:7b9009be-eda1-4fb6-a55f-96ea7f0c9cf9 @optional:key_type_profile=current @allow.skipped
    Examples: ECC_SECP384R1 with SHA-512
      | key type      | certificate                          | key                                  | hash    |
      | ECC_SECP384R1 | fixtures/pki/signing/ec-p384.crt.pem | fixtures/pki/signing/ec-p384.key.pem | SHA-512 |

    @id:1b014e49-91cd-43ce-86fd-2e042d19dac1 @optional:key_type_profile=current @allow.skipped
    Examples: ECC_SECP521R1 with SHA-224
      | key type      | certificate                          | key                                  | hash    |
      | ECC_SECP521R1 | fixtures/pki/signing/ec-p521.crt.pem | fixtures/pki/signing/ec-p521.key.pem | SHA-224 |

    @id:4de0dd86-f26e-4e57-bd34-278dd56847bd @optional:key_type_profile=current @allow.skipped
    Examples: ECC_SECP521R1 with SHA-256
      | key type      | certificate                          | key                                  | hash    |
      | ECC_SECP521R1 | fixtures/pki/signing/ec-p521.crt.pem | fixtures/pki/signing/ec-p521.key.pem | SHA-256 |

    @id:f28e967c-5f84-4b7a-9312-3b31a3d43b47 @optional:key_type_profile=current @allow.skipped
    Examples: ECC_SECP521R1 with SHA-384
      | key type      | certificate                          | key                                  | hash    |
      | ECC_SECP521R1 | fixtures/pki/signing/ec-p521.crt.pem | fixtures/pki/signing/ec-p521.key.pem | SHA-384 |

    @id:489fac19-9626-429b-9965-fe9ba382537b @optional:key_type_profile=current @allow.skipped
    Examples: ECC_SECP521R1 with SHA-512
      | key type      | certificate                          | key                                  | hash    |
      | ECC_SECP521R1 | fixtures/pki/signing/ec-p521.crt.pem | fixtures/pki/signing/ec-p521.key.pem | SHA-512 |
