//! Cinder v3's admin and project views over HTTP: quota sets (limits that really limit, with
//! Cinder's 413s), the default quota class, absolute limits, availability zones, services,
//! hosts, pools, capabilities, extensions; volume type extra specs, update and access; QoS
//! specs and group types.

mod cinder_support;

use cinder_support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sigstack_client::Session;

async fn call(s: &Session, method: Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
    let p = project(s);
    let (status, _, body) = raw(s, method, &format!("/v3/{p}{path}"), None, body).await;
    (status, body)
}

#[tokio::test]
async fn quotas_limit_volumes_and_gigabytes() {
    let cloud = cloud().await;
    let admin = session(&cloud, "admin").await;
    let demo = session(&cloud, "demo").await;
    let pd = project(&demo);

    let (status, body) = call(&admin, Method::GET, &format!("/os-quota-sets/{pd}"), None).await;
    assert_eq!(status, StatusCode::OK);
    let set = &body["quota_set"];
    assert_eq!((set["id"].clone(), set["volumes"].clone(), set["gigabytes"].clone()), (json!(pd), json!(10), json!(1000)));
    assert_eq!(
        (set["per_volume_gigabytes"].clone(), set["groups"].clone(), set["volumes_lvmdriver-1"].clone()),
        (json!(-1), json!(10), json!(-1))
    );
    let (_, defaults) = call(&admin, Method::GET, &format!("/os-quota-sets/{pd}/defaults"), None).await;
    assert_eq!(defaults["quota_set"]["snapshots"], 10);

    // volumes = 1: the second volume is over quota.
    let (status, body) =
        call(&admin, Method::PUT, &format!("/os-quota-sets/{pd}"), Some(json!({"quota_set": {"volumes": 1, "gigabytes": -1}}))).await;
    assert_eq!((status, body["quota_set"]["volumes"].clone()), (StatusCode::OK, json!(1)));
    assert!(body["quota_set"].get("id").is_none());
    let (status, _) = call(&demo, Method::POST, "/volumes", Some(json!({"volume": {"size": 1}}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, body) = call(&demo, Method::POST, "/volumes", Some(json!({"volume": {"size": 1}}))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body, json!({"overLimit": {"code": 413, "message": "Maximum number of volumes allowed (1) exceeded for quota 'volumes'."}}));

    // gigabytes = 1 with one GiB used: the next GiB is over.
    call(&admin, Method::PUT, &format!("/os-quota-sets/{pd}"), Some(json!({"quota_set": {"volumes": -1, "gigabytes": 1}}))).await;
    let (status, body) = call(&demo, Method::POST, "/volumes", Some(json!({"volume": {"size": 2}}))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        body["overLimit"]["message"],
        "Requested volume or snapshot exceeds allowed gigabytes quota. Requested 2G, quota is 1G and 1G has been consumed."
    );
    let (_, _, usage) = raw(&admin, Method::GET, &format!("/v3/{}/os-quota-sets/{pd}?usage=true", project(&admin)), None, None).await;
    assert_eq!(usage["quota_set"]["volumes"], json!({"limit": -1, "in_use": 1, "reserved": 0}));
    assert_eq!(usage["quota_set"]["gigabytes"], json!({"limit": 1, "in_use": 1, "reserved": 0}));

    // Below usage, unknown keys, and members are refused.
    let (status, body) = call(&admin, Method::PUT, &format!("/os-quota-sets/{pd}"), Some(json!({"quota_set": {"volumes": 0}}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["badRequest"]["message"],
        "Quota volumes limit must be equal or greater than existing resources. Current usage is 1 and the requested limit is 0."
    );
    let (status, body) = call(&admin, Method::PUT, &format!("/os-quota-sets/{pd}"), Some(json!({"quota_set": {"bogus": 1}}))).await;
    assert_eq!(
        (status, body["badRequest"]["message"].clone()),
        (StatusCode::BAD_REQUEST, json!("Invalid input received: Bad key(s) in quota set: bogus"))
    );
    let (status, _) = call(&demo, Method::PUT, &format!("/os-quota-sets/{pd}"), Some(json!({"quota_set": {"volumes": 5}}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Delete: back to the defaults.
    let (status, _) = call(&admin, Method::DELETE, &format!("/os-quota-sets/{pd}"), None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = call(&demo, Method::GET, &format!("/os-quota-sets/{pd}"), None).await;
    assert_eq!(body["quota_set"]["gigabytes"], 1000);

    // Limits: the project's quotas and usage.
    let (status, body) = call(&demo, Method::GET, "/limits", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["limits"]["rate"], json!([]));
    assert_eq!(
        (body["limits"]["absolute"]["totalVolumesUsed"].clone(), body["limits"]["absolute"]["maxTotalVolumes"].clone()),
        (json!(1), json!(10))
    );
}

#[tokio::test]
async fn the_default_quota_class_sets_the_defaults() {
    let cloud = cloud().await;
    let admin = session(&cloud, "admin").await;
    let demo = session(&cloud, "demo").await;
    let (status, body) = call(&admin, Method::GET, "/os-quota-class-sets/default", None).await;
    assert_eq!(
        (status, body["quota_class_set"]["id"].clone(), body["quota_class_set"]["volumes"].clone()),
        (StatusCode::OK, json!("default"), json!(10))
    );
    let (status, body) = call(&admin, Method::PUT, "/os-quota-class-sets/default", Some(json!({"quota_class_set": {"volumes": 12}}))).await;
    assert_eq!((status, body["quota_class_set"]["volumes"].clone()), (StatusCode::OK, json!(12)));
    let (_, body) = call(&demo, Method::GET, &format!("/os-quota-sets/{}/defaults", project(&demo)), None).await;
    assert_eq!(body["quota_set"]["volumes"], 12);
    let (status, _) = call(&demo, Method::GET, "/os-quota-class-sets/default", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn operator_views() {
    let cloud = cloud().await;
    let admin = session(&cloud, "admin").await;
    let demo = session(&cloud, "demo").await;
    let (status, body) = call(&demo, Method::GET, "/os-availability-zone", None).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": true}}]})));

    let (status, body) = call(&admin, Method::GET, "/os-services", None).await;
    assert_eq!(status, StatusCode::OK);
    let services: Vec<(String, String)> = body["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["binary"].as_str().unwrap().into(), s["host"].as_str().unwrap().into()))
        .collect();
    assert_eq!(services, [("cinder-scheduler".into(), "cinder".into()), ("cinder-volume".into(), "cinder@lvmdriver-1".into())]);
    let (_, body) = call(&admin, Method::GET, "/os-services?binary=cinder-volume&host=cinder", None).await;
    assert_eq!(body["services"].as_array().unwrap().len(), 1);
    let (status, _) = call(&demo, Method::GET, "/os-services", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) =
        call(&admin, Method::PUT, "/os-services/enable", Some(json!({"host": "nowhere", "binary": "cinder-volume"}))).await;
    assert_eq!(
        (status, body["itemNotFound"]["message"].clone()),
        (StatusCode::NOT_FOUND, json!("Could not find binary cinder-volume on host nowhere."))
    );
    let (status, body) =
        call(&admin, Method::PUT, "/os-services/disable", Some(json!({"host": "cinder@lvmdriver-1", "binary": "cinder-volume"}))).await;
    assert_eq!((status, body["status"].clone(), body["disabled"].clone()), (StatusCode::OK, json!("disabled"), json!(true)));
    let (status, _) = call(&admin, Method::PUT, "/os-services/freeze", Some(json!({"host": "nowhere"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (_, body) = call(&admin, Method::GET, "/os-hosts", None).await;
    assert_eq!(body["hosts"].as_array().unwrap().len(), 2);
    let (status, body) = call(&admin, Method::GET, "/os-hosts/cinder@lvmdriver-1", None).await;
    assert_eq!((status, body["host"][0]["resource"]["project"].clone()), (StatusCode::OK, json!("(total)")));
    let (status, _) = call(&admin, Method::GET, "/os-hosts/elsewhere", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (_, body) = call(&admin, Method::GET, "/scheduler-stats/get_pools", None).await;
    assert_eq!(body, json!({"pools": [{"name": "cinder@lvmdriver-1#lvmdriver-1"}]}));
    let (_, body) = call(&admin, Method::GET, "/scheduler-stats/get_pools?detail=True", None).await;
    assert_eq!(body["pools"][0]["capabilities"]["volume_backend_name"], "lvmdriver-1");
    let (status, body) = call(&admin, Method::GET, "/capabilities/cinder@lvmdriver-1", None).await;
    assert_eq!((status, body["storage_protocol"].clone()), (StatusCode::OK, json!("iSCSI")));
    let (status, body) = call(&demo, Method::GET, "/extensions", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body["extensions"].as_array().unwrap().iter().any(|e| e["alias"] == "os-quota-sets"));
}

#[tokio::test]
async fn type_extra_specs_update_and_access() {
    let cloud = cloud().await;
    let admin = session(&cloud, "admin").await;
    let demo = session(&cloud, "demo").await;
    let (_, t) =
        call(&admin, Method::POST, "/types", Some(json!({"volume_type": {"name": "priv", "os-volume-type-access:is_public": false}})))
            .await;
    let id = t["volume_type"]["id"].as_str().unwrap().to_owned();
    let specs = format!("/types/{id}/extra_specs");
    let (status, body) = call(&admin, Method::POST, &specs, Some(json!({"extra_specs": {"k1": "v1", "multiattach": "<is> True"}}))).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"extra_specs": {"k1": "v1", "multiattach": "<is> True"}})));
    let (status, body) = call(&admin, Method::PUT, &format!("{specs}/k1"), Some(json!({"k1": "v2"}))).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"k1": "v2"})));
    let (status, body) = call(&admin, Method::PUT, &format!("{specs}/other"), Some(json!({"k1": "v2"}))).await;
    assert_eq!((status, body["badRequest"]["message"].clone()), (StatusCode::BAD_REQUEST, json!("Request body and URI mismatch")));
    let (status, _) = call(&admin, Method::PUT, &format!("{specs}/k1"), Some(json!({"k1": "a", "k2": "b"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = call(&admin, Method::POST, &specs, Some(json!({"extra_specs": ["invalid"]}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = call(&admin, Method::GET, &format!("{specs}/nope"), None).await;
    assert_eq!(
        (status, body["itemNotFound"]["message"].clone()),
        (StatusCode::NOT_FOUND, json!(format!("Volume Type {id} has no extra specs with key nope.")))
    );
    let (status, _) = call(&admin, Method::GET, &format!("/types/{}/extra_specs", uuid::Uuid::new_v4()), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(call(&admin, Method::DELETE, &format!("{specs}/k1"), None).await.0, StatusCode::ACCEPTED);

    // Update: 200 with the manage view.
    let (status, body) = call(&admin, Method::PUT, &format!("/types/{id}"), Some(json!({"volume_type": {"description": "d"}}))).await;
    assert_eq!((status, body["volume_type"]["description"].clone()), (StatusCode::OK, json!("d")));
    let (status, _) = call(&admin, Method::PUT, &format!("/types/{id}"), Some(json!({"volume_type": {}}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Access: demo sees the private type once its project is added.
    let (status, _) = call(&demo, Method::GET, &format!("/types/{id}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let pd = project(&demo);
    assert_eq!(
        call(&admin, Method::POST, &format!("/types/{id}/action"), Some(json!({"addProjectAccess": {"project": pd}}))).await.0,
        StatusCode::ACCEPTED
    );
    let (status, _) = call(&admin, Method::POST, &format!("/types/{id}/action"), Some(json!({"addProjectAccess": {"project": pd}}))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, body) = call(&admin, Method::GET, &format!("/types/{id}/os-volume-type-access"), None).await;
    assert_eq!(body, json!({"volume_type_access": [{"volume_type_id": id, "project_id": pd}]}));
    let (status, body) = call(&demo, Method::GET, &format!("/types/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["volume_type"]["extra_specs"], json!({"multiattach": "<is> True"}));
    assert_eq!(
        call(&admin, Method::POST, &format!("/types/{id}/action"), Some(json!({"removeProjectAccess": {"project": pd}}))).await.0,
        StatusCode::ACCEPTED
    );
    assert_eq!(call(&demo, Method::GET, &format!("/types/{id}"), None).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn qos_specs_and_group_types() {
    let cloud = cloud().await;
    let admin = session(&cloud, "admin").await;
    let (status, body) = call(
        &admin,
        Method::POST,
        "/qos-specs",
        Some(json!({"qos_specs": {"name": "q", "consumer": "front-end", "read_iops_sec": "2000"}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["qos_specs"]["specs"], json!({"read_iops_sec": "2000"}));
    let qid = body["qos_specs"]["id"].as_str().unwrap().to_owned();
    let (status, body) = call(&admin, Method::POST, "/qos-specs", Some(json!({"qos_specs": {"name": "q"}}))).await;
    assert_eq!((status, body["conflictingRequest"]["message"].clone()), (StatusCode::CONFLICT, json!("QoS Specs q already exists.")));
    let (status, body) = call(&admin, Method::PUT, &format!("/qos-specs/{qid}"), Some(json!({"qos_specs": {"iops_bytes": "500"}}))).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"qos_specs": {"iops_bytes": "500"}})));
    assert_eq!(
        call(&admin, Method::PUT, &format!("/qos-specs/{qid}/delete_keys"), Some(json!({"keys": ["iops_bytes"]}))).await.0,
        StatusCode::ACCEPTED
    );
    let (_, body) = call(&admin, Method::GET, &format!("/qos-specs/{qid}"), None).await;
    assert_eq!(body["qos_specs"]["specs"], json!({"read_iops_sec": "2000"}));

    let (_, t) = call(&admin, Method::POST, "/types", Some(json!({"volume_type": {"name": "qt"}}))).await;
    let tid = t["volume_type"]["id"].as_str().unwrap().to_owned();
    assert_eq!(call(&admin, Method::GET, &format!("/qos-specs/{qid}/associate?vol_type_id={tid}"), None).await.0, StatusCode::ACCEPTED);
    let (_, body) = call(&admin, Method::GET, &format!("/qos-specs/{qid}/associations"), None).await;
    assert_eq!(body, json!({"qos_associations": [{"association_type": "volume_type", "name": "qt", "id": tid}]}));
    let (_, body) = call(&admin, Method::GET, &format!("/types/{tid}"), None).await;
    assert_eq!(body["volume_type"]["qos_specs_id"], json!(qid));
    let (status, body) = call(&admin, Method::DELETE, &format!("/qos-specs/{qid}"), None).await;
    assert_eq!((status, body["badRequest"]["message"].clone()), (StatusCode::BAD_REQUEST, json!("Qos specs still in use.")));
    assert_eq!(call(&admin, Method::GET, &format!("/qos-specs/{qid}/disassociate_all"), None).await.0, StatusCode::ACCEPTED);
    assert_eq!(call(&admin, Method::DELETE, &format!("/qos-specs/{qid}"), None).await.0, StatusCode::ACCEPTED);
    let (status, body) = call(&admin, Method::GET, &format!("/qos-specs/{qid}"), None).await;
    assert_eq!((status, body["itemNotFound"]["message"].clone()), (StatusCode::NOT_FOUND, json!(format!("No such QoS spec {qid}."))));

    // Group types from 3.11.
    let p = project(&admin);
    let (status, _, _) = raw(&admin, Method::GET, &format!("/v3/{p}/group_types"), Some("3.10"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, body) = raw(
        &admin,
        Method::POST,
        &format!("/v3/{p}/group_types"),
        Some("3.11"),
        Some(json!({"group_type": {"name": "g", "group_specs": {"k": "v"}, "is_public": false}})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let gid = body["group_type"]["id"].as_str().unwrap().to_owned();
    let (_, _, body) = raw(&admin, Method::GET, &format!("/v3/{p}/group_types?is_public=true"), Some("3.11"), None).await;
    assert_eq!(body["group_types"], json!([]));
    let (status, _, body) =
        raw(&admin, Method::PUT, &format!("/v3/{p}/group_types/{gid}/group_specs/k"), Some("3.11"), Some(json!({"k": "w"}))).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"k": "w"})));
    let (_, _, body) = raw(&admin, Method::GET, &format!("/v3/{p}/group_types/{gid}"), Some("3.11"), None).await;
    assert_eq!(body["group_type"]["group_specs"], json!({"k": "w"}));
    let (status, _, _) = raw(&admin, Method::DELETE, &format!("/v3/{p}/group_types/{gid}"), Some("3.11"), None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _, body) = raw(&admin, Method::GET, &format!("/v3/{p}/group_types/{gid}"), Some("3.11"), None).await;
    assert_eq!(
        (status, body["itemNotFound"]["message"].clone()),
        (StatusCode::NOT_FOUND, json!(format!("Group type {gid} could not be found.")))
    );
}

#[tokio::test]
async fn generic_volume_groups() {
    let cloud = cloud().await;
    let admin = session(&cloud, "admin").await;
    let p = project(&admin);
    let v = Some("3.20");
    let (_, _, t) = raw(&admin, Method::POST, &format!("/v3/{p}/types"), None, Some(json!({"volume_type": {"name": "gt-vt"}}))).await;
    let tid = t["volume_type"]["id"].as_str().unwrap().to_owned();
    let (_, _, g) = raw(&admin, Method::POST, &format!("/v3/{p}/group_types"), v, Some(json!({"group_type": {"name": "gt"}}))).await;
    let gtid = g["group_type"]["id"].as_str().unwrap().to_owned();

    let (status, _, _) = raw(&admin, Method::GET, &format!("/v3/{p}/groups"), Some("3.12"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, body) = raw(
        &admin,
        Method::POST,
        &format!("/v3/{p}/groups"),
        v,
        Some(json!({"group": {"name": "g1", "group_type": gtid, "volume_types": [tid]}})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["group"].as_object().unwrap().len(), 2, "the create answer is the summary: {body}");
    let gid = body["group"]["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let (_, _, shown) = raw(&admin, Method::GET, &format!("/v3/{p}/groups/{gid}"), v, None).await;
    assert_eq!((shown["group"]["status"].clone(), shown["group"]["volume_types"].clone()), (json!("available"), json!([tid])));

    // A volume in the group shows its group_id from 3.13.
    let (status, _, vol) = raw(
        &admin,
        Method::POST,
        &format!("/v3/{p}/volumes"),
        v,
        Some(json!({"volume": {"size": 1, "volume_type": tid, "group_id": gid}})),
    )
    .await;
    assert_eq!((status, vol["volume"]["group_id"].clone()), (StatusCode::ACCEPTED, json!(gid)));
    let vid = vol["volume"]["id"].as_str().unwrap().to_owned();
    sigstack_client::volume::wait_for_volume_status(&admin, &vid, &["available"], WAIT).await.unwrap();

    // Delete without delete-volumes is refused while it holds volumes.
    let url = format!("/v3/{p}/groups/{gid}/action");
    let (status, _, body) = raw(&admin, Method::POST, &url, v, Some(json!({"delete": {"delete-volumes": false}}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["badRequest"]["message"],
        format!("Invalid group: Group {gid} still contains volumes. The delete-volumes flag is required to delete it.")
    );
    let (status, _, _) = raw(&admin, Method::POST, &url, v, Some(json!({"reset_status": {"status": "error"}}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, _, shown) = raw(&admin, Method::GET, &format!("/v3/{p}/groups/{gid}"), v, None).await;
    assert_eq!(shown["group"]["status"], "error");
    let (status, _, _) = raw(&admin, Method::POST, &url, v, Some(json!({"delete": {"delete-volumes": true}}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _, body) = raw(&admin, Method::GET, &format!("/v3/{p}/groups/{gid}"), v, None).await;
    assert_eq!(
        (status, body["itemNotFound"]["message"].clone()),
        (StatusCode::NOT_FOUND, json!(format!("Group {gid} could not be found.")))
    );
    let (status, _, _) = raw(&admin, Method::GET, &format!("/v3/{p}/volumes/{vid}"), None, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
