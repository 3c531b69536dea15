using FsCheck.Xunit;
using Virt.Memory;
using Xunit;

namespace Virt.Devices.Tests.Storage.Ide;

/// <summary>Random sector writes and reads through the controller (PIO, multiple, DMA, LBA28 and LBA48) against a byte-array model of the disk.</summary>
public sealed class IdeDiskPropertyTests
{
    private const int Sectors = 600;

    /// <summary>
    /// Each operation is (kind, start, count, seed): kinds 0-2 write by PIO, WRITE MULTIPLE or DMA, 3-5 read the same
    /// ways (LBA48 for odd seeds); the reads must give the model's bytes, and the disk must equal the model at the end.
    /// </summary>
    [Property(MaxTest = 60)]
    public bool Writes_and_reads_agree_with_a_byte_array_model((byte Kind, ushort Start, byte Count, int Seed)[] operations)
    {
        var disk = new MemoryBlockDevice(Sectors * 512L);
        byte[] model = new byte[Sectors * 512];
        var rig = new IdeTestRig(IdeTestRig.Disk(disk));
        rig.Ports.WriteByte(0x1F2, 8);
        rig.Command(0xC6);                                 // SET MULTIPLE MODE 8
        Assert.Equal(0x50, rig.Status());
        foreach ((byte kind, ushort start, byte count, int seed) in operations ?? [])
        {
            int lba = start % Sectors;
            int n = Math.Min((count % 40) + 1, Sectors - lba);
            bool ext = (seed & 1) != 0;
            int mode = kind % 6;
            if (mode < 3)
            {
                byte[] data = new byte[n * 512];
                new Random(seed).NextBytes(data);
                Write(rig, mode, ext, lba, n, data);
                data.CopyTo(model, lba * 512);
            }
            else
            {
                byte[] data = Read(rig, mode - 3, ext, lba, n);
                Assert.Equal(model.AsSpan(lba * 512, n * 512).ToArray(), data);
            }

            Assert.Equal(0x50, rig.Status());
        }

        byte[] contents = new byte[model.Length];
        disk.Read(0, contents);
        Assert.Equal(model, contents);
        return true;
    }

    private static void Issue(IdeTestRig rig, byte lba28Command, byte lba48Command, bool ext, int lba, int n)
    {
        if (ext)
        {
            rig.Lba48(lba48Command, (ulong)lba, (ushort)n);
        }
        else
        {
            rig.Lba28(lba28Command, (uint)lba, (byte)n);
        }
    }

    private static void Write(IdeTestRig rig, int mode, bool ext, int lba, int n, byte[] data)
    {
        switch (mode)
        {
            case 0:
                Issue(rig, 0x30, 0x34, ext, lba, n);
                rig.WriteData(data);
                break;
            case 1:
                Issue(rig, 0xC5, 0x39, ext, lba, n);
                rig.WriteData(data);
                break;
            default:
                rig.Pci.Memory.Write(new PhysicalAddress(IdeTestRig.DmaBuffer), data);
                rig.SetPrdTable(0, (IdeTestRig.DmaBuffer, data.Length));
                Issue(rig, 0xCA, 0x35, ext, lba, n);
                rig.StartBusMaster(toMemory: false);
                rig.StopBusMaster();
                break;
        }
    }

    private static byte[] Read(IdeTestRig rig, int mode, bool ext, int lba, int n)
    {
        switch (mode)
        {
            case 0:
                Issue(rig, 0x20, 0x24, ext, lba, n);
                return rig.ReadData(n * 512);
            case 1:
                Issue(rig, 0xC4, 0x29, ext, lba, n);
                return rig.ReadDataDwords(n * 512);
            default:
                rig.SetPrdTable(0, (IdeTestRig.DmaBuffer, n * 512));
                Issue(rig, 0xC8, 0x25, ext, lba, n);
                rig.StartBusMaster(toMemory: true);
                rig.StopBusMaster();
                return rig.ReadMemory(IdeTestRig.DmaBuffer, n * 512);
        }
    }
}
