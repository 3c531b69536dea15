using Virt.Machine.Boot;
using Virt.Memory;
using Xunit;

namespace Virt.Machine.Tests.Boot;

/// <summary><see cref="MachineBuilder.WithFlatBinary(string, PhysicalAddress, BootEntryState)"/>: an image file streamed into guest memory.</summary>
public sealed class FlatBinaryFileBootTests
{
    private static readonly byte[] s_haltCode = [0xFA, 0xF4]; // CLI; HLT

    [Fact]
    public void LargeImageFileBootsWithoutAHostCopyOfTheImage()
    {
        const int size = 48 << 20;
        string path = Path.GetTempFileName();
        try
        {
            // The code at the start, a recognisable byte pattern every MiB, and zeros between (a sparse file).
            using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write))
            {
                stream.SetLength(size);
                stream.Write(s_haltCode);
                for (int mib = 1; mib < size >> 20; mib++)
                {
                    stream.Position = (long)mib << 20;
                    stream.WriteByte((byte)mib);
                }
            }

            long before = GC.GetAllocatedBytesForCurrentThread();
            using Machine machine = new MachineBuilder()
                .WithMemorySize(128UL << 20)
                .WithFlatBinary(path, new PhysicalAddress(0x10_0000), BootEntryState.FlatProtectedMode(0x10_0000, "big"))
                .Build();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

            Assert.Equal(MachineStopKind.HaltedForGood, machine.Run(maxInstructions: 1000).Kind);
            for (int mib = 1; mib < size >> 20; mib++)
            {
                Assert.Equal((byte)mib, machine.Memory.ReadByte(new PhysicalAddress(0x10_0000 + ((ulong)mib << 20))));
            }

            // Guest RAM is allocated for what the image fills (48 MiB in 64 KiB chunks, zero-filled pages included) plus the
            // machine's own bookkeeping; a host copy of the image (byte[] of the file, as the span overload takes) would
            // add another 48 MiB.
            Assert.InRange(allocated, 0, size + (16L << 20));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ImageFileStaysOpenForReadingUntilTheMachineIsDisposedAndIsLoadedAgainAtReset()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, s_haltCode);
            Machine machine = new MachineBuilder()
                .WithMemorySize(2UL << 20)
                .WithFlatBinary(path, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "boot"))
                .Build();
            try
            {
                // The guest overwrote its code; a reset loads the image again from the open file.
                machine.Memory.WriteByte(new PhysicalAddress(0x7C00), 0x90);
                machine.Reset();
                Assert.Equal(0xFA, machine.Memory.ReadByte(new PhysicalAddress(0x7C00)));

                // The machine holds the file open: an exclusive open fails until it is disposed.
                Assert.Throws<IOException>(() => new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None).Dispose());
            }
            finally
            {
                machine.Dispose();
            }

            using var reopened = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            Assert.Equal(s_haltCode.Length, reopened.Length);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void MissingOrEmptyImageFileIsAConfigurationErrorNamingTheFile()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"virt-missing-{Guid.NewGuid():N}.bin");
        var e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder()
            .WithFlatBinary(missing, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "x"))
            .Build());
        Assert.Equal(MachineSetting.FlatBinary, e.Setting);
        Assert.Contains(missing, e.Message, StringComparison.Ordinal);

        string empty = Path.GetTempFileName();
        try
        {
            e = Assert.Throws<MachineConfigurationException>(() => new MachineBuilder()
                .WithFlatBinary(empty, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "x"))
                .Build());
            Assert.Equal(MachineSetting.FlatBinary, e.Setting);
            Assert.Contains("file size", e.Message, StringComparison.Ordinal);

            // The failed build closed the file again.
            using var reopened = new FileStream(empty, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
        }
        finally
        {
            File.Delete(empty);
        }
    }
}
