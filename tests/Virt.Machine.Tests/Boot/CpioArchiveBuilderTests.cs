using System.Globalization;
using System.IO.Compression;
using System.Text;
using FsCheck.Xunit;
using Virt.Machine.Boot;
using Xunit;

namespace Virt.Machine.Tests.Boot;

public sealed class CpioArchiveBuilderTests
{
    /// <summary>One entry as read back by <see cref="ReadNewc"/>.</summary>
    private sealed record Entry(string Name, uint Inode, uint Mode, uint Links, uint FileSize, uint RdevMajor, uint RdevMinor, byte[] Data, int HeaderOffset);

    /// <summary>
    /// A newc reader written from the format description (buffer-format.rst), independent of the
    /// builder: 6-byte magic, 13 eight-digit hex fields, name padded so that header + name is a multiple
    /// of 4, data padded to 4.
    /// </summary>
    private static List<Entry> ReadNewc(byte[] archive)
    {
        var entries = new List<Entry>();
        int offset = 0;
        while (true)
        {
            Assert.Equal(0, offset % 4);
            Assert.Equal("070701", Encoding.ASCII.GetString(archive, offset, 6));
            uint Field(int index) => uint.Parse(Encoding.ASCII.GetString(archive, offset + 6 + (index * 8), 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            uint nameSize = Field(11);
            uint fileSize = Field(6);
            Assert.Equal(0u, Field(12)); // c_check is zero in newc
            string name = Encoding.UTF8.GetString(archive, offset + 110, (int)nameSize - 1);
            Assert.Equal(0, archive[offset + 110 + (int)nameSize - 1]);
            int dataOffset = (offset + 110 + (int)nameSize + 3) & ~3;
            byte[] data = archive.AsSpan(dataOffset, (int)fileSize).ToArray();
            entries.Add(new Entry(name, Field(0), Field(1), Field(4), fileSize, Field(9), Field(10), data, offset));
            offset = (dataOffset + (int)fileSize + 3) & ~3;
            if (name == "TRAILER!!!")
            {
                Assert.Equal(archive.Length, offset);
                return entries;
            }
        }
    }

    private static CpioArchiveBuilder Initramfs(byte[] busybox) => new CpioArchiveBuilder()
        .AddDirectory("dev")
        .AddCharacterDevice("/dev/console", 5, 1)
        .AddFile("bin/busybox", busybox, permissions: 0x1ED)
        .AddSymlink("bin/sh", "busybox")
        .AddTextFile("init", "#!/bin/sh\necho VIRT-MARKER\npoweroff -f\n", permissions: 0x1ED)
        .AddBlockDevice("dev/ram0", 1, 0);

    [Fact]
    public void ArchiveReadsBackEntryByEntry()
    {
        byte[] busybox = TestImages.Pattern(1001, 4);
        List<Entry> entries = ReadNewc(Initramfs(busybox).ToArray());
        Assert.Equal(["dev", "dev/console", "bin", "bin/busybox", "bin/sh", "init", "dev/ram0", "TRAILER!!!"], entries.Select(e => e.Name));

        Assert.Equal(0x41EDu, entries[0].Mode); // octal 040755
        Assert.Equal(2u, entries[0].Links);
        Assert.Equal(0x2180u, entries[1].Mode); // octal 020600: character device
        Assert.Equal((5u, 1u), (entries[1].RdevMajor, entries[1].RdevMinor));
        Assert.Equal(0x41EDu, entries[2].Mode); // parent added automatically
        Assert.Equal(0x81EDu, entries[3].Mode); // octal 0100755
        Assert.Equal(busybox, entries[3].Data);
        Assert.Equal(0xA1FFu, entries[4].Mode); // octal 0120777: symlink
        Assert.Equal("busybox", Encoding.UTF8.GetString(entries[4].Data));
        Assert.Equal("#!/bin/sh\necho VIRT-MARKER\npoweroff -f\n", Encoding.UTF8.GetString(entries[5].Data));
        Assert.Equal(0x6180u, entries[6].Mode); // octal 060600: block device
        Assert.Equal([1u, 2u, 3u, 4u, 5u, 6u, 7u, 0u], entries.Select(e => e.Inode));
        Assert.Equal(0u, entries[^1].Mode);
    }

    [Fact]
    public void GzipOutputDecompressesToTheSameArchive()
    {
        CpioArchiveBuilder builder = Initramfs(TestImages.Pattern(77, 1));
        using var gzip = new GZipStream(new MemoryStream(builder.ToGzipArray()), CompressionMode.Decompress);
        using var plain = new MemoryStream();
        gzip.CopyTo(plain);
        Assert.Equal(builder.ToArray(), plain.ToArray());
        Assert.Equal(0x1F, builder.ToGzipArray()[0]);
    }

    [Fact]
    public void SameInputGivesIdenticalBytes()
    {
        Assert.Equal(Initramfs([1, 2, 3]).ToArray(), Initramfs([1, 2, 3]).ToArray());
    }

    [Fact]
    public void DuplicatePathsAndBadNamesAreRejected()
    {
        var builder = new CpioArchiveBuilder().AddDirectory("dev");
        Assert.Throws<ArgumentException>(() => builder.AddDirectory("/dev/"));
        Assert.Throws<ArgumentException>(() => builder.AddFile("../etc/passwd", [1]));
        Assert.Throws<ArgumentException>(() => builder.AddFile("TRAILER!!!", [1]));
        Assert.Throws<ArgumentOutOfRangeException>(() => builder.AddFile("x", [1], permissions: 0x10000));
    }

    [Property(MaxTest = 100)]
    public bool AnyFilesRoundTrip(byte[][] contents)
    {
        contents ??= [];
        var builder = new CpioArchiveBuilder();
        for (int i = 0; i < contents.Length; i++)
        {
            builder.AddFile($"d{i % 3}/file{i}", contents[i] ?? []);
        }

        List<Entry> files = [.. ReadNewc(builder.ToArray()).Where(e => (e.Mode & 0xF000) == 0x8000)];
        return files.Count == contents.Length
            && files.Select((f, i) => f.Name == $"d{i % 3}/file{i}" && f.Data.AsSpan().SequenceEqual(contents[i] ?? [])).All(ok => ok);
    }
}
