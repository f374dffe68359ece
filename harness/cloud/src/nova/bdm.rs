//! Block device mappings of attached volumes (no HTTP): the compute host's
//! `reserve_block_device_name` (the next free `/dev/vdX`, under the instance's lock, refusing a
//! volume the instance already has), and the mapping's later changes and removal.

use crate::store::StoreError;

use super::model::{BlockDevice, ComputeService};

/// Why a device could not be reserved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveError {
    /// The instance already has a mapping for this volume.
    AlreadyAttached,
}

/// `block_device.generate_device_letter`: 0 → `a`, 25 → `z`, 26 → `aa`.
fn device_letters(mut index: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'a' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// The libvirt driver's choice for a new virtio disk: the first `/dev/vdX` no mapping uses;
/// the root disk is always `/dev/vda`. A name the user suggested is ignored, as libvirt does
/// ("Ignoring supplied device name").
pub fn next_device_name(mappings: &[BlockDevice]) -> String {
    let used: Vec<String> = mappings.iter().filter_map(BlockDevice::device).collect();
    (0..)
        .map(|i| format!("/dev/vd{}", device_letters(i)))
        .find(|name| name != "/dev/vda" && !used.contains(name))
        .unwrap_or_else(|| "/dev/vdb".into())
}

impl ComputeService {
    /// Records a new volume mapping with the next device name, in one transaction with the
    /// check that the volume is not mapped yet. `None` when the server is gone.
    pub fn reserve_volume_device(
        &self,
        server_id: &str,
        volume_id: &str,
        tag: Option<String>,
        delete_on_termination: bool,
    ) -> Result<Option<Result<BlockDevice, ReserveError>>, StoreError> {
        self.try_update(server_id, |server| {
            if server.block_devices.iter().any(|b| b.volume_id.as_deref() == Some(volume_id)) {
                return Err(ReserveError::AlreadyAttached);
            }
            let bdm = BlockDevice {
                source_type: "volume".into(),
                destination_type: "volume".into(),
                uuid: Some(volume_id.to_owned()),
                volume_id: Some(volume_id.to_owned()),
                device_name: Some(next_device_name(&server.block_devices)),
                tag,
                delete_on_termination,
                bdm_uuid: Some(uuid::Uuid::new_v4().to_string()),
                ..BlockDevice::default()
            };
            server.block_devices.push(bdm.clone());
            Ok(bdm)
        })
    }

    /// Notes Cinder's attachment id on a volume's mapping.
    pub fn set_attachment_id(&self, server_id: &str, volume_id: &str, attachment_id: &str) -> Result<(), StoreError> {
        self.update(server_id, |server| {
            if let Some(b) = server.block_devices.iter_mut().find(|b| b.volume_id.as_deref() == Some(volume_id)) {
                b.attachment_id = Some(attachment_id.to_owned());
            }
        })?;
        Ok(())
    }

    /// Destroys a volume's mapping (`bdm.destroy()`); the mapping, if there was one.
    pub fn remove_volume_device(&self, server_id: &str, volume_id: &str) -> Result<Option<BlockDevice>, StoreError> {
        let outcome = self.try_update(server_id, |server| {
            let index = server.block_devices.iter().position(|b| b.volume_id.as_deref() == Some(volume_id) && !b.is_root()).ok_or(())?;
            Ok::<_, ()>(server.block_devices.remove(index))
        })?;
        Ok(outcome.and_then(Result::ok))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(device: &str) -> BlockDevice {
        BlockDevice { device_name: Some(device.into()), volume_id: Some(device.into()), ..BlockDevice::default() }
    }

    #[test]
    fn letters_follow_nova() {
        assert_eq!(device_letters(0), "a");
        assert_eq!(device_letters(25), "z");
        assert_eq!(device_letters(26), "aa");
        assert_eq!(device_letters(27), "ab");
        assert_eq!(device_letters(26 + 26 * 26), "aaa");
    }

    #[test]
    fn the_first_free_name_after_the_root() {
        assert_eq!(next_device_name(&[]), "/dev/vdb");
        assert_eq!(next_device_name(&[mapped("/dev/vdb")]), "/dev/vdc");
        assert_eq!(next_device_name(&[mapped("/dev/vdc")]), "/dev/vdb");
        let root = BlockDevice { boot_index: Some(0), ..BlockDevice::default() };
        assert_eq!(next_device_name(&[root, mapped("/dev/vdb")]), "/dev/vdc");
        let many: Vec<BlockDevice> = (1..26).map(|i| mapped(&format!("/dev/vd{}", device_letters(i)))).collect();
        assert_eq!(next_device_name(&many), "/dev/vdaa");
    }
}
