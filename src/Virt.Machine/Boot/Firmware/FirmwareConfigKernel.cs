using System.Buffers.Binary;
using System.Text;
using Virt.Devices.FwCfg;

namespace Virt.Machine.Boot;

/// <summary>
/// Puts a Linux kernel, initrd and command line into fw_cfg the way QEMU's x86 <c>-kernel</c> does for firmware that
/// loads them (QEMU's linuxboot option ROM): the real-mode setup (with its header filled in as a boot loader would) for
/// 10000h, the protected-mode kernel for 100000h, the command line for 20000h and the initrd at the top of low RAM.
/// </summary>
public static class FirmwareConfigKernel
{
    /// <summary>Where the real-mode setup goes.</summary>
    public const uint SetupAddress = 0x1_0000;

    /// <summary>Where the command line goes.</summary>
    public const uint CommandLineAddress = 0x2_0000;

    /// <summary>Where the protected-mode kernel goes.</summary>
    public const uint KernelAddress = 0x10_0000;

    /// <summary>Space QEMU keeps free below the top of low RAM for the ACPI tables the firmware allocates there.</summary>
    public const uint AcpiReserveInBytes = 128 * 1024;

    /// <summary>type_of_loader: 0xB0, QEMU's loader id.</summary>
    private const byte LoaderTypeQemu = 0xB0;

    /// <summary>loadflags bit 7: CAN_USE_HEAP (heap_end_ptr is valid).</summary>
    private const byte CanUseHeap = 0x80;

    private const int TypeOfLoaderOffset = 0x210;
    private const int LoadFlagsOffset = 0x211;
    private const int RamdiskImageOffset = 0x218;
    private const int RamdiskSizeOffset = 0x21C;
    private const int HeapEndOffset = 0x224;
    private const int CommandLinePointerOffset = 0x228;

    /// <summary>The heap ends where QEMU puts it: 200h below the command line, relative to the setup.</summary>
    private const ushort HeapEnd = (ushort)(CommandLineAddress - SetupAddress - 0x200);

    /// <summary>Adds the kernel items to <paramref name="content"/>.</summary>
    /// <param name="content">The fw_cfg content.</param>
    /// <param name="kernel">The bzImage.</param>
    /// <param name="initrd">The initial ramdisk, or null.</param>
    /// <param name="commandLine">The command line.</param>
    /// <param name="lowRamTopInBytes">The top of RAM below 4 GiB.</param>
    /// <param name="name">The kernel's name for messages.</param>
    /// <exception cref="BootImageException">When the image is not a bzImage or the initrd does not fit.</exception>
    public static void Add(FwCfgContent content, byte[] kernel, byte[]? initrd, string commandLine, ulong lowRamTopInBytes, string name)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(kernel);
        ArgumentNullException.ThrowIfNull(commandLine);
        LinuxSetupHeader header = LinuxSetupHeader.Parse(kernel, name);
        int setupSize = header.ProtectedModeOffset;
        byte[] setup = kernel[..setupSize];
        setup[TypeOfLoaderOffset] = LoaderTypeQemu;
        setup[LoadFlagsOffset] |= CanUseHeap;
        BinaryPrimitives.WriteUInt16LittleEndian(setup.AsSpan(HeapEndOffset), HeapEnd);
        BinaryPrimitives.WriteUInt32LittleEndian(setup.AsSpan(CommandLinePointerOffset), CommandLineAddress);
        if (initrd is not null)
        {
            ulong limit = Math.Min(header.InitrdAddressMax, lowRamTopInBytes - AcpiReserveInBytes - 1);
            if ((ulong)initrd.Length > limit - KernelAddress)
            {
                throw new BootImageException(name, "initrd", $"The initrd of {initrd.Length} bytes does not fit below 0x{limit:X}.");
            }

            uint address = (uint)((limit + 1 - (ulong)initrd.Length) & ~0xFFFUL);
            BinaryPrimitives.WriteUInt32LittleEndian(setup.AsSpan(RamdiskImageOffset), address);
            BinaryPrimitives.WriteUInt32LittleEndian(setup.AsSpan(RamdiskSizeOffset), (uint)initrd.Length);
            content.SetUInt32(FwCfgKeys.InitrdAddress, address);
            content.SetUInt32(FwCfgKeys.InitrdSize, (uint)initrd.Length);
            content.SetItem(FwCfgKeys.InitrdData, initrd);
        }

        byte[] protectedMode = kernel[setupSize..];
        content.SetUInt32(FwCfgKeys.SetupAddress, SetupAddress);
        content.SetUInt32(FwCfgKeys.SetupSize, (uint)setup.Length);
        content.SetItem(FwCfgKeys.SetupData, setup);
        content.SetUInt32(FwCfgKeys.KernelAddress, KernelAddress);
        content.SetUInt32(FwCfgKeys.KernelSize, (uint)protectedMode.Length);
        content.SetItem(FwCfgKeys.KernelData, protectedMode);
        byte[] line = [.. Encoding.ASCII.GetBytes(commandLine), 0];
        content.SetUInt32(FwCfgKeys.CommandLineAddress, CommandLineAddress);
        content.SetUInt32(FwCfgKeys.CommandLineSize, (uint)line.Length);
        content.SetItem(FwCfgKeys.CommandLineData, line);
    }
}
