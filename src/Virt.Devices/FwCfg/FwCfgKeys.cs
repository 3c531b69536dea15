namespace Virt.Devices.FwCfg;

/// <summary>
/// The selector keys of QEMU's firmware configuration device (QEMU docs/specs/fw_cfg.rst, "Firmware Configuration
/// Items"; the x86 architecture-local keys from QEMU's pc machine). Items are read-only unless a file is added as writable.
/// </summary>
public static class FwCfgKeys
{
    /// <summary>The signature "QEMU" (4 bytes).</summary>
    public const ushort Signature = 0x00;

    /// <summary>The feature bitmap (32-bit little-endian): <see cref="FeatureTraditional"/> and <see cref="FeatureDma"/>.</summary>
    public const ushort Id = 0x01;

    /// <summary>The machine UUID (16 bytes).</summary>
    public const ushort Uuid = 0x02;

    /// <summary>The RAM size in bytes (64-bit little-endian).</summary>
    public const ushort RamSize = 0x03;

    /// <summary>Whether the guest has no graphical console (16-bit).</summary>
    public const ushort NoGraphic = 0x04;

    /// <summary>The number of CPUs started at boot (16-bit).</summary>
    public const ushort NumberOfCpus = 0x05;

    /// <summary>The machine id (32-bit).</summary>
    public const ushort MachineId = 0x06;

    /// <summary>The load address of the protected-mode kernel (32-bit).</summary>
    public const ushort KernelAddress = 0x07;

    /// <summary>The size of the protected-mode kernel (32-bit).</summary>
    public const ushort KernelSize = 0x08;

    /// <summary>The address of the kernel command line (32-bit; superseded by <see cref="CommandLineAddress"/>).</summary>
    public const ushort KernelCommandLine = 0x09;

    /// <summary>The load address of the initial ramdisk (32-bit).</summary>
    public const ushort InitrdAddress = 0x0A;

    /// <summary>The size of the initial ramdisk (32-bit).</summary>
    public const ushort InitrdSize = 0x0B;

    /// <summary>The legacy boot device (16-bit, a drive letter).</summary>
    public const ushort BootDevice = 0x0C;

    /// <summary>NUMA information.</summary>
    public const ushort Numa = 0x0D;

    /// <summary>Whether the boot menu is enabled (16-bit).</summary>
    public const ushort BootMenu = 0x0E;

    /// <summary>The largest number of CPUs (16-bit).</summary>
    public const ushort MaxCpus = 0x0F;

    /// <summary>The kernel entry point (32-bit).</summary>
    public const ushort KernelEntry = 0x10;

    /// <summary>The protected-mode kernel bytes.</summary>
    public const ushort KernelData = 0x11;

    /// <summary>The initial ramdisk bytes.</summary>
    public const ushort InitrdData = 0x12;

    /// <summary>The address the command line goes to (32-bit).</summary>
    public const ushort CommandLineAddress = 0x13;

    /// <summary>The size of the command line including its NUL (32-bit).</summary>
    public const ushort CommandLineSize = 0x14;

    /// <summary>The command line bytes, NUL-terminated.</summary>
    public const ushort CommandLineData = 0x15;

    /// <summary>The address the real-mode setup goes to (32-bit).</summary>
    public const ushort SetupAddress = 0x16;

    /// <summary>The size of the real-mode setup (32-bit).</summary>
    public const ushort SetupSize = 0x17;

    /// <summary>The real-mode setup bytes (boot sector and setup sectors).</summary>
    public const ushort SetupData = 0x18;

    /// <summary>The file directory: a big-endian count, then 64-byte entries (size, select, reserved, name).</summary>
    public const ushort FileDirectory = 0x19;

    /// <summary>The key of the first file; files take consecutive keys from here.</summary>
    public const ushort FirstFile = 0x20;

    /// <summary>The selector bit that once enabled writes through the data port (ignored since QEMU 2.4, as here).</summary>
    public const ushort WriteChannel = 0x4000;

    /// <summary>The selector bit of architecture-specific keys.</summary>
    public const ushort ArchLocal = 0x8000;

    /// <summary>x86: legacy ACPI tables (not provided; the table loader carries them).</summary>
    public const ushort AcpiTables = ArchLocal | 0x00;

    /// <summary>x86: legacy SMBIOS entries (not provided; the SMBIOS files carry them).</summary>
    public const ushort SmbiosEntries = ArchLocal | 0x01;

    /// <summary>x86: whether IRQ0 is routed to I/O APIC pin 2 (32-bit, 1 on the pc machine).</summary>
    public const ushort Irq0Override = ArchLocal | 0x02;

    /// <summary>x86: the legacy e820 reservation table (not provided; <c>etc/e820</c> carries the map).</summary>
    public const ushort E820Table = ArchLocal | 0x03;

    /// <summary>x86: HPET description.</summary>
    public const ushort Hpet = ArchLocal | 0x04;

    /// <summary><see cref="Id"/> bit: the traditional selector/data interface is present.</summary>
    public const uint FeatureTraditional = 1u << 0;

    /// <summary><see cref="Id"/> bit: the DMA interface is present.</summary>
    public const uint FeatureDma = 1u << 1;

    /// <summary>The longest file name, including the NUL that ends it (the directory entry's name field).</summary>
    public const int FileNameSizeInBytes = 56;
}
