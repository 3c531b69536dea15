using FsCheck.Xunit;
using Xunit;

namespace Virt.Devices.Tests.Backends.Block;

public sealed class Qcow2PropertyTests
{
    private const int Sector = 512;
    private const int Sectors = 512;

    /// <summary>
    /// Random writes and reads on a qcow2 image (random cluster size, version, with or without a raw backing file of
    /// random bytes) against a byte-array model; after reopening, the whole image matches the model and the refcounts
    /// match the metadata.
    /// </summary>
    [Property(MaxTest = 40)]
    public bool Random_operations_match_a_byte_array_model(uint[] operations, byte shape)
    {
        int clusterSize = 512 << (shape % 4 * 2); // 512 B, 2 KiB, 8 KiB, 32 KiB
        int version = (shape & 0x10) != 0 ? 2 : 3;
        bool withBacking = (shape & 0x20) != 0;
        using var dir = new TempDirectory();
        byte[] model = new byte[Sectors * Sector];
        string path = dir.File("p.qcow2");
        Qcow2BlockDevice disk;
        if (withBacking)
        {
            string basePath = dir.RandomFile("base.img", model.Length, operations.Length);
            model = File.ReadAllBytes(basePath);
            Qcow2BlockDevice.CreateOverlay(path, "base.img", DiskImageFormat.Raw, clusterSize).Dispose();
            disk = Qcow2BlockDevice.Open(path, readOnly: false);
        }
        else
        {
            disk = Qcow2BlockDevice.Create(path, model.Length, clusterSize, version);
        }

        using (disk)
        {
            foreach (uint op in operations)
            {
                int sector = (int)((op >> 1) % Sectors);
                int count = (int)Math.Min(((op >> 10) % 80) + 1, Sectors - sector);
                if ((op & 1) != 0)
                {
                    byte[] data = TempDirectory.RandomBytes(count * Sector, (int)op);
                    disk.Write(sector * Sector, data);
                    data.CopyTo(model, sector * Sector);
                }
                else
                {
                    byte[] back = new byte[count * Sector];
                    disk.Read(sector * Sector, back);
                    Assert.Equal(model.AsSpan(sector * Sector, count * Sector).ToArray(), back);
                }
            }
        }

        using (Qcow2BlockDevice reopened = Qcow2BlockDevice.Open(path))
        {
            byte[] all = new byte[model.Length];
            reopened.Read(0, all);
            Assert.Equal(model, all);
        }

        Assert.Empty(Qcow2Checker.Check(path));
        return true;
    }
}
