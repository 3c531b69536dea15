namespace Virt.Devices.FwCfg;

/// <summary>
/// The control word of an <c>FWCfgDmaAccess</c> structure (QEMU docs/specs/fw_cfg.rst, "DMA interface"): the low bits
/// request operations; with <see cref="Select"/>, the upper 16 bits hold the selector. The device writes the word back
/// as 0 on success or with <see cref="Error"/> set.
/// </summary>
[Flags]
public enum FwCfgDmaControl : uint
{
    /// <summary>No operation.</summary>
    None = 0,

    /// <summary>Set by the device when the transfer failed.</summary>
    Error = 0x01,

    /// <summary>Copy item bytes to guest memory.</summary>
    Read = 0x02,

    /// <summary>Advance the item offset without copying.</summary>
    Skip = 0x04,

    /// <summary>Select the item in bits 31-16 first.</summary>
    Select = 0x08,

    /// <summary>Copy guest memory into a writable item.</summary>
    Write = 0x10,
}
