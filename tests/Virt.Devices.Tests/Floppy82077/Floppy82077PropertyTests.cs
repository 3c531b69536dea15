using FsCheck.Xunit;
using Xunit;

namespace Virt.Devices.Tests.Floppy82077;

public sealed class Floppy82077PropertyTests
{
    private const int Sector = 512;

    /// <summary>
    /// Random runs of sectors written through the controller (seek, DMA read channel, WRITE DATA with multi-track), then
    /// every written run read back through READ DATA, agree with a plain byte array that got the same writes; the image
    /// itself ends equal to the model.
    /// </summary>
    [Property(MaxTest = 40)]
    public bool Sector_writes_then_reads_through_the_controller_agree_with_a_byte_array(ushort[] starts, byte[] lengths, int seed)
    {
        FloppyGeometry g = FloppyGeometry.FromCapacity(1_474_560);
        byte[] model = new byte[g.CapacityInBytes];
        new Random(seed).NextBytes(model);
        var device = new MemoryBlockDevice((byte[])model.Clone());
        var rig = new FdcRig(device);
        rig.ResetAndSense(g.DataRate);
        var random = new Random(seed ^ 0x5A5A);
        var runs = new List<(int Lba, int Count)>();
        for (int i = 0; i < Math.Min(starts.Length, 12); i++)
        {
            int lba = starts[i] % g.SectorCount;
            int track = lba / g.SectorsPerTrack;
            int r = (lba % g.SectorsPerTrack) + 1;
            int head = track % g.Heads;

            // A multi-track command reaches at most to the end of the cylinder (the end of head 1).
            int left = ((g.Heads - head) * g.SectorsPerTrack) - (r - 1);
            int count = 1 + ((i < lengths.Length ? lengths[i] : 0) % Math.Min(left, 24));
            byte[] data = new byte[count * Sector];
            random.NextBytes(data);
            data.CopyTo(model, (long)lba * Sector);
            data.CopyTo(rig.Memory.Bytes, 0x10000);

            Transfer(rig, g, lba, count, write: true);
            runs.Add((lba, count));
        }

        foreach ((int lba, int count) in runs)
        {
            Array.Clear(rig.Memory.Bytes, 0x10000, count * Sector);
            Transfer(rig, g, lba, count, write: false);
            Assert.Equal(model.AsSpan(lba * Sector, count * Sector).ToArray(), rig.Memory.Bytes.AsSpan(0x10000, count * Sector).ToArray());
        }

        byte[] image = new byte[g.CapacityInBytes];
        device.Read(0, image);
        return image.AsSpan().SequenceEqual(model);
    }

    private static void Transfer(FdcRig rig, FloppyGeometry g, int lba, int count, bool write)
    {
        int track = lba / g.SectorsPerTrack;
        int cylinder = track / g.Heads;
        int head = track % g.Heads;
        int r = (lba % g.SectorsPerTrack) + 1;
        rig.Seek(0, head, cylinder);
        rig.DmaPorts.Program8(2, 0x10000, count * Sector, write ? FdcRig.DmaRead : FdcRig.DmaWrite);
        byte[] result = rig.Run(FdcRig.DataCommand(write ? (byte)0xC5 : (byte)0xE6, 0, cylinder, head, r, g.SectorsPerTrack));
        Assert.Equal(0, result[0] & 0xC0);
    }
}
