using System.Buffers.Binary;
using Virt.Devices.Tests.Fakes;
using Virt.Devices.Tests.Pci;
using Virt.Memory;

namespace Virt.Devices.Tests.Storage.Ide;

/// <summary>
/// A PIIX3 IDE function at 00:01.1 on a real bus and port space, set up as firmware leaves it: I/O and bus master
/// enabled, both channels' legacy ports decoded, BAR4 at <see cref="BusMasterBase"/>. Helpers drive the ATA protocol
/// through the ports as a guest does.
/// </summary>
public sealed class IdeTestRig
{
    public const ushort BusMasterBase = 0xC000;
    public const ulong PrdTable = 0x1000;
    public const ulong DmaBuffer = 0x10000;
    public const ushort Primary = 0x1F0;
    public const ushort PrimaryControl = 0x3F6;
    public const ushort Secondary = 0x170;
    public const ushort SecondaryControl = 0x376;

    public IdeTestRig(params IdeDriveConfiguration?[] drives)
        : this(new Piix3IdeOptions { Drives = drives })
    {
    }

    public IdeTestRig(Piix3IdeOptions options, bool firmwareSetup = true)
    {
        Router = new RecordingRouter();
        Ide = new Piix3Ide(options, Irq14, Irq15);
        Pci = new PciTestRig(Router, (Ide, 1, 1));
        if (firmwareSetup)
        {
            Pci.WriteConfig(1, 1, Piix3Ide.IdeTiming, 4, 0x8000_8000);
            Pci.WriteConfig(1, 1, 0x20, 4, BusMasterBase);
            Pci.WriteConfig(1, 1, 0x04, 2, 0x0005);
        }
    }

    public RecordingRouter Router { get; }

    public RecordingInterruptLine Irq14 { get; } = new();

    public RecordingInterruptLine Irq15 { get; } = new();

    public Piix3Ide Ide { get; }

    public PciTestRig Pci { get; }

    public IoPortSpace Ports => Pci.Ports;

    public static IdeDriveConfiguration Disk(MemoryBlockDevice device) => new(IdeMediaKind.Disk, device);

    public static IdeDriveConfiguration Cdrom(IBlockDevice? device) => new(IdeMediaKind.Cdrom, device);

    /// <summary>A disk whose every sector holds its own number in each dword, so reads can be checked anywhere.</summary>
    public static MemoryBlockDevice NumberedDisk(int sectors, int sectorSize = 512)
    {
        byte[] data = new byte[sectors * sectorSize];
        for (int i = 0; i < data.Length; i += 4)
        {
            BinaryPrimitives.WriteInt32LittleEndian(data.AsSpan(i), i / sectorSize);
        }

        return new MemoryBlockDevice(data, sectorSize);
    }

    public byte Status(ushort b = Primary) => Ports.ReadByte((ushort)(b + 7));

    public byte AltStatus(ushort control = PrimaryControl) => Ports.ReadByte(control);

    public byte Error(ushort b = Primary) => Ports.ReadByte((ushort)(b + 1));

    public byte Register(int offset, ushort b = Primary) => Ports.ReadByte((ushort)(b + offset));

    public void Select(int unit, bool lba = true, ushort b = Primary) =>
        Ports.WriteByte((ushort)(b + 6), (byte)(0xA0 | (lba ? 0x40 : 0) | (unit << 4)));

    /// <summary>An LBA28 command: sector count, LBA, device (master unless told), command.</summary>
    public void Lba28(byte command, uint lba, byte count, int unit = 0, byte features = 0, ushort b = Primary)
    {
        Ports.WriteByte((ushort)(b + 6), (byte)(0xE0 | (uint)(unit << 4) | ((lba >> 24) & 0xF)));
        Ports.WriteByte((ushort)(b + 1), features);
        Ports.WriteByte((ushort)(b + 2), count);
        Ports.WriteByte((ushort)(b + 3), (byte)lba);
        Ports.WriteByte((ushort)(b + 4), (byte)(lba >> 8));
        Ports.WriteByte((ushort)(b + 5), (byte)(lba >> 16));
        Ports.WriteByte((ushort)(b + 7), command);
    }

    /// <summary>An LBA48 command: each register written twice, the high-order byte first.</summary>
    public void Lba48(byte command, ulong lba, ushort count, int unit = 0, ushort b = Primary)
    {
        Ports.WriteByte((ushort)(b + 6), (byte)(0x40 | (unit << 4)));
        Ports.WriteByte((ushort)(b + 2), (byte)(count >> 8));
        Ports.WriteByte((ushort)(b + 3), (byte)(lba >> 24));
        Ports.WriteByte((ushort)(b + 4), (byte)(lba >> 32));
        Ports.WriteByte((ushort)(b + 5), (byte)(lba >> 40));
        Ports.WriteByte((ushort)(b + 2), (byte)count);
        Ports.WriteByte((ushort)(b + 3), (byte)lba);
        Ports.WriteByte((ushort)(b + 4), (byte)(lba >> 8));
        Ports.WriteByte((ushort)(b + 5), (byte)(lba >> 16));
        Ports.WriteByte((ushort)(b + 7), command);
    }

    public void Command(byte command, ushort b = Primary) => Ports.WriteByte((ushort)(b + 7), command);

    public byte[] ReadData(int bytes, ushort b = Primary)
    {
        byte[] data = new byte[bytes];
        for (int i = 0; i < bytes; i += 2)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(i), Ports.ReadWord(b));
        }

        return data;
    }

    public byte[] ReadDataDwords(int bytes, ushort b = Primary)
    {
        byte[] data = new byte[bytes];
        for (int i = 0; i < bytes; i += 4)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(data.AsSpan(i), Ports.ReadDoubleWord(b));
        }

        return data;
    }

    public void WriteData(ReadOnlySpan<byte> data, ushort b = Primary)
    {
        for (int i = 0; i < data.Length; i += 2)
        {
            Ports.WriteWord(b, BinaryPrimitives.ReadUInt16LittleEndian(data[i..]));
        }
    }

    public ushort[] Identify(byte command = 0xEC, int unit = 0, ushort b = Primary)
    {
        Select(unit, b: b);
        Command(command, b);
        byte[] data = ReadData(512, b);
        ushort[] words = new ushort[256];
        for (int i = 0; i < 256; i++)
        {
            words[i] = BinaryPrimitives.ReadUInt16LittleEndian(data.AsSpan(2 * i));
        }

        return words;
    }

    /// <summary>Writes a PRD table of (address, byte count) regions, EOT on the last, and points the channel at it.</summary>
    public void SetPrdTable(int channel, params (ulong Address, int Count)[] regions)
    {
        Span<byte> entry = stackalloc byte[8];
        for (int i = 0; i < regions.Length; i++)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(entry, (uint)regions[i].Address);
            uint control = (uint)(regions[i].Count & 0xFFFF) | (i == regions.Length - 1 ? 0x8000_0000u : 0);
            BinaryPrimitives.WriteUInt32LittleEndian(entry[4..], control);
            Pci.Memory.Write(new PhysicalAddress(PrdTable + (ulong)(8 * i)), entry);
        }

        Ports.WriteDoubleWord((ushort)(BusMasterBase + (8 * channel) + 4), (uint)PrdTable);
    }

    public byte BusMasterStatus(int channel = 0) => Ports.ReadByte((ushort)(BusMasterBase + (8 * channel) + 2));

    public void StartBusMaster(bool toMemory, int channel = 0)
    {
        ushort port = (ushort)(BusMasterBase + (8 * channel));
        Ports.WriteByte((ushort)(port + 2), 0x06); // clear interrupt and error
        Ports.WriteByte(port, (byte)((toMemory ? 0x08 : 0) | 0x01));
    }

    public void StopBusMaster(int channel = 0) => Ports.WriteByte((ushort)(BusMasterBase + (8 * channel)), 0);

    public byte[] ReadMemory(ulong address, int length)
    {
        byte[] data = new byte[length];
        Pci.Memory.Read(new PhysicalAddress(address), data);
        return data;
    }

    /// <summary>Sends a 12-byte ATAPI packet (PIO unless <paramref name="dma"/>) with a byte count limit.</summary>
    public void Packet(ReadOnlySpan<byte> cdb, ushort byteCountLimit = 0xFFFE, bool dma = false, int unit = 0, ushort b = Secondary)
    {
        Select(unit, lba: false, b: b);
        Ports.WriteByte((ushort)(b + 1), (byte)(dma ? 1 : 0));
        Ports.WriteByte((ushort)(b + 4), (byte)byteCountLimit);
        Ports.WriteByte((ushort)(b + 5), (byte)(byteCountLimit >> 8));
        Command(0xA0, b);
        Span<byte> packet = stackalloc byte[12];
        packet.Clear();
        cdb.CopyTo(packet);
        WriteData(packet, b);
    }

    /// <summary>Reads every DRQ block of the packet command's data (each the size in LBA mid/high).</summary>
    public byte[] ReadPacketData(ushort b = Secondary)
    {
        var all = new List<byte>();
        while ((Status(b) & 0x08) != 0)
        {
            int size = Register(4, b) | (Register(5, b) << 8);
            all.AddRange(ReadData((size + 1) & ~1, b).AsSpan(0, size).ToArray());
        }

        return [.. all];
    }

    /// <summary>REQUEST SENSE: (sense key, ASC, ASCQ).</summary>
    public (int Key, int Asc, int Ascq) RequestSense(ushort b = Secondary)
    {
        Packet([0x03, 0, 0, 0, 18], b: b);
        byte[] sense = ReadPacketData(b);
        return (sense[2] & 0x0F, sense[12], sense[13]);
    }
}
