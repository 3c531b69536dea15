using System.Buffers.Binary;
using Virt.Memory;

namespace Virt.Devices;

/// <summary>
/// QEMU's <c>std</c> VGA as a PCI function (QEMU <c>docs/specs/standard-vga.rst</c>): 1234:1111, class 030000h (VGA
/// compatible display controller), the <see cref="VgaAdapter"/>'s linear framebuffer as the prefetchable BAR0, the MMIO
/// register window as BAR2 (VGA ports 3C0h-3DFh at 400h, the DISPI registers at 500h, QEMU's extended registers at
/// 600h), and the VGA BIOS (Debian's <c>vgabios-stdvga.bin</c>) in the expansion ROM, where SeaBIOS finds and runs it.
/// The legacy ports and the A0000h window stay with the adapter and are decoded whatever the command register says,
/// as QEMU and real VGA cards do.
/// </summary>
public sealed class StandardVgaPciDevice : PciDevice, IStatefulDevice<StandardVgaPciState>
{
    /// <summary>The vendor ID QEMU's std VGA reports (the "Bochs" ID).</summary>
    public const ushort VendorId = 0x1234;

    /// <summary>The device ID.</summary>
    public const ushort DeviceId = 0x1111;

    /// <summary>Class 03h (display), subclass 00h (VGA compatible), interface 00h.</summary>
    public const uint ClassCode = 0x03_0000;

    /// <summary>The revision QEMU's std VGA reports.</summary>
    public const byte Revision = 0x02;

    /// <summary>The subsystem vendor QEMU gives its devices (Red Hat, Inc.).</summary>
    public const ushort SubsystemVendor = 0x1AF4;

    /// <summary>The subsystem ID QEMU gives its devices.</summary>
    public const ushort Subsystem = 0x1100;

    /// <summary>The size of the BAR2 register window.</summary>
    public const int MmioWindowSizeInBytes = 0x1000;

    /// <summary>Where the VGA ports 3C0h-3DFh appear in BAR2.</summary>
    public const int MmioVgaPortsOffset = 0x400;

    /// <summary>Where the DISPI registers appear in BAR2 (16 bits each, by index).</summary>
    public const int MmioDispiOffset = 0x500;

    /// <summary>Where QEMU's extended registers appear in BAR2 (size of the block, framebuffer byte order).</summary>
    public const int MmioQemuExtendedOffset = 0x600;

    private const ushort FirstVgaPort = 0x3C0;
    private const int VgaPortCount = 0x20;
    private const int DispiRegisterCount = 0x0B;
    private const uint QemuExtendedSize = 8;
    private const uint QemuLittleEndianFramebuffer = 0x1E1E1E1E;

    /// <summary>Creates the function around an adapter (which the board registers as usual for its ports and legacy window).</summary>
    /// <param name="adapter">The VGA: its linear framebuffer becomes BAR0 (its size, a power of two).</param>
    /// <param name="optionRom">The VGA BIOS for the expansion ROM, or empty for none.</param>
    /// <param name="name">A unique device name.</param>
    public StandardVgaPciDevice(VgaAdapter adapter, ReadOnlySpan<byte> optionRom, string name = "VGA PCI")
        : base(name, new PciDeviceIdentity(VendorId, DeviceId, ClassCode, Revision) { SubsystemVendorId = SubsystemVendor, SubsystemId = Subsystem })
    {
        ArgumentNullException.ThrowIfNull(adapter);
        Adapter = adapter;
        DefineMemoryBar(0, (ulong)adapter.VideoMemorySizeInBytes, adapter.LinearFramebuffer, prefetchable: true);
        DefineMemoryBar(2, MmioWindowSizeInBytes, new RegisterWindow(adapter));
        if (!optionRom.IsEmpty)
        {
            DefineExpansionRom(optionRom);
        }
    }

    /// <summary>The adapter behind the function.</summary>
    public VgaAdapter Adapter { get; }

    /// <inheritdoc/>
    public StandardVgaPciState SaveState() => new(StandardVgaPciState.CurrentVersion, SaveConfiguration());

    /// <inheritdoc/>
    public void RestoreState(StandardVgaPciState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Version != StandardVgaPciState.CurrentVersion || state.Configuration is null)
        {
            throw new ArgumentException($"{Name}: invalid StandardVgaPciState (version {state.Version}, expected {StandardVgaPciState.CurrentVersion}).", nameof(state));
        }

        RestoreConfiguration(state.Configuration);
    }

    /// <summary>BAR2: the VGA ports and DISPI registers as memory, so a driver needs no port I/O.</summary>
    private sealed class RegisterWindow(VgaAdapter adapter) : IMmioDevice
    {
        public AccessWidths SupportedWidths => AccessWidths.UpToDoubleWord;

        public ulong Read(RegionOffset offset, int sizeInBytes)
        {
            ulong value = 0;
            int at = (int)offset.Value;
            if (at is >= MmioDispiOffset and < MmioDispiOffset + (2 * DispiRegisterCount))
            {
                // DISPI registers are 16 bits wide; a dword access reads two of them.
                for (int i = 0; i < sizeInBytes; i += 2)
                {
                    int register = (at + i - MmioDispiOffset) / 2;
                    ulong word = register < DispiRegisterCount ? adapter.ReadVbeRegisterForMmio(register) : 0UL;
                    value |= (((at + i) & 1) != 0 ? word >> 8 : word) << (8 * i);
                }

                return sizeInBytes == 1 ? value & 0xFF : value;
            }

            if (at is >= MmioQemuExtendedOffset and < MmioQemuExtendedOffset + 8)
            {
                Span<byte> block = stackalloc byte[8];
                BinaryPrimitives.WriteUInt32LittleEndian(block, QemuExtendedSize);
                BinaryPrimitives.WriteUInt32LittleEndian(block[4..], QemuLittleEndianFramebuffer);
                for (int i = 0; i < sizeInBytes && at + i - MmioQemuExtendedOffset < 8; i++)
                {
                    value |= (ulong)block[at + i - MmioQemuExtendedOffset] << (8 * i);
                }

                return value;
            }

            for (int i = 0; i < sizeInBytes; i++)
            {
                int port = at + i - MmioVgaPortsOffset;
                ulong b = port is >= 0 and < VgaPortCount ? adapter.ReadPort((ushort)(FirstVgaPort + port)) : 0xFFUL;
                value |= b << (8 * i);
            }

            return value;
        }

        public void Write(RegionOffset offset, int sizeInBytes, ulong value)
        {
            int at = (int)offset.Value;
            if (at is >= MmioDispiOffset and < MmioDispiOffset + (2 * DispiRegisterCount))
            {
                for (int i = 0; i + 1 < sizeInBytes || i == 0; i += 2)
                {
                    int register = (at + i - MmioDispiOffset) / 2;
                    if (register < DispiRegisterCount)
                    {
                        adapter.WriteVbeRegisterForMmio(register, (ushort)(value >> (8 * i)));
                    }
                }

                return;
            }

            for (int i = 0; i < sizeInBytes; i++)
            {
                int port = at + i - MmioVgaPortsOffset;
                if (port is >= 0 and < VgaPortCount)
                {
                    adapter.WritePort((ushort)(FirstVgaPort + port), (byte)(value >> (8 * i)));
                }
            }
        }
    }
}
