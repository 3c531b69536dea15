namespace Virt.Devices;

/// <summary>
/// Offsets and bits of the type 0 configuration space header (PCI Local Bus Specification 3.0, chapter 6.1-6.2), for
/// device authors.
/// </summary>
public static class PciConfigurationRegisters
{
    /// <summary>Vendor ID (word).</summary>
    public const int VendorId = 0x00;

    /// <summary>Device ID (word).</summary>
    public const int DeviceId = 0x02;

    /// <summary>Command register (word); see the <c>Command*</c> bits.</summary>
    public const int Command = 0x04;

    /// <summary>Status register (word); see the <c>Status*</c> bits.</summary>
    public const int Status = 0x06;

    /// <summary>Revision ID (byte).</summary>
    public const int RevisionId = 0x08;

    /// <summary>Programming interface, the low byte of the class code.</summary>
    public const int ProgrammingInterface = 0x09;

    /// <summary>Sub-class code.</summary>
    public const int SubClass = 0x0A;

    /// <summary>Base class code.</summary>
    public const int BaseClass = 0x0B;

    /// <summary>Cache line size (byte).</summary>
    public const int CacheLineSize = 0x0C;

    /// <summary>Latency timer (byte).</summary>
    public const int LatencyTimer = 0x0D;

    /// <summary>Header type (byte): bits 6:0 the layout (0 device, 1 PCI-to-PCI bridge), bit 7 multi-function.</summary>
    public const int HeaderType = 0x0E;

    /// <summary>The first base address register; BAR n is at <c>Bar0 + 4n</c>.</summary>
    public const int Bar0 = 0x10;

    /// <summary>Subsystem vendor ID (word).</summary>
    public const int SubsystemVendorId = 0x2C;

    /// <summary>Subsystem ID (word).</summary>
    public const int SubsystemId = 0x2E;

    /// <summary>Expansion ROM base address (dword).</summary>
    public const int ExpansionRomBase = 0x30;

    /// <summary>Capabilities pointer (byte), valid when <see cref="StatusCapabilitiesList"/> is set.</summary>
    public const int CapabilitiesPointer = 0x34;

    /// <summary>Interrupt line (byte): the system interrupt the firmware routed INTx to; the device itself ignores it.</summary>
    public const int InterruptLine = 0x3C;

    /// <summary>Interrupt pin (byte): 0 none, 1-4 INTA#-INTD#.</summary>
    public const int InterruptPin = 0x3D;

    /// <summary>The first byte after the predefined header: device-specific registers and capabilities.</summary>
    public const int DeviceSpecific = 0x40;

    /// <summary>Command bit 0: respond to I/O space accesses.</summary>
    public const ushort CommandIoSpace = 1 << 0;

    /// <summary>Command bit 1: respond to memory space accesses.</summary>
    public const ushort CommandMemorySpace = 1 << 1;

    /// <summary>Command bit 2: may act as bus master (DMA).</summary>
    public const ushort CommandBusMaster = 1 << 2;

    /// <summary>Command bit 6: parity error response.</summary>
    public const ushort CommandParityErrorResponse = 1 << 6;

    /// <summary>Command bit 8: SERR# enable.</summary>
    public const ushort CommandSerrEnable = 1 << 8;

    /// <summary>Command bit 10: interrupt disable (INTx# is not asserted while set).</summary>
    public const ushort CommandInterruptDisable = 1 << 10;

    /// <summary>Status bit 3: the function's INTx# request, before the interrupt disable bit (read-only).</summary>
    public const ushort StatusInterrupt = 1 << 3;

    /// <summary>Status bit 4: the capabilities list at <see cref="CapabilitiesPointer"/> is valid (read-only).</summary>
    public const ushort StatusCapabilitiesList = 1 << 4;

    /// <summary>Status bits 10:9 = 01: medium DEVSEL# timing, what the Intel chipset functions report.</summary>
    public const ushort StatusDevselMedium = 1 << 9;

    /// <summary>Status bits 15:11 and 8: error bits a guest clears by writing 1 (RW1C).</summary>
    public const ushort StatusWriteOneToClear = 0xF900;

    /// <summary>Capability ID of Message Signaled Interrupts (PCI Local Bus 3.0, 6.8.1).</summary>
    public const byte CapabilityIdMsi = 0x05;
}
