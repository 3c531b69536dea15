namespace Virt.Devices;

/// <summary>The read-only identity registers of a PCI function (PCI Local Bus 3.0, 6.2.1).</summary>
/// <param name="VendorId">Vendor ID, for example 8086h for Intel.</param>
/// <param name="DeviceId">Device ID.</param>
/// <param name="ClassCode">The 24-bit class code: base class, sub-class, programming interface (for example 060000h, a host bridge).</param>
/// <param name="RevisionId">Revision ID.</param>
public sealed record PciDeviceIdentity(ushort VendorId, ushort DeviceId, uint ClassCode, byte RevisionId = 0)
{
    /// <summary>Subsystem vendor ID (0 when the function does not report one).</summary>
    public ushort SubsystemVendorId { get; init; }

    /// <summary>Subsystem ID.</summary>
    public ushort SubsystemId { get; init; }

    /// <summary>The interrupt pin the function uses (default none).</summary>
    public PciInterruptPin InterruptPin { get; init; }

    /// <summary>The power-on value of the status register (default medium DEVSEL# timing).</summary>
    public ushort Status { get; init; } = PciConfigurationRegisters.StatusDevselMedium;

    /// <summary>The power-on value of the command register (default 0: no decoding until the firmware enables it).</summary>
    public ushort Command { get; init; }
}
