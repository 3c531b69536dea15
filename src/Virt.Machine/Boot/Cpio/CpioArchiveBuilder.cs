using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Virt.Machine.Boot;

/// <summary>
/// Writes a cpio archive in the "newc" format (magic <c>070701</c>), the format the Linux kernel
/// unpacks as an initramfs (Documentation/driver-api/early-userspace/buffer-format.rst): for each
/// entry a 110-byte ASCII header of thirteen 8-digit hexadecimal fields, the NUL-terminated path padded
/// to a multiple of 4 bytes, then the data padded to a multiple of 4 bytes; the archive ends with the
/// entry <c>TRAILER!!!</c>. Entries are written in the order added, parents before children (missing
/// parent directories are added automatically, mode 0755). Inode numbers count up from 1; owner, group
/// and modification time are fixed per builder, so the same input gives byte-identical archives.
/// </summary>
public sealed class CpioArchiveBuilder
{
    /// <summary>The newc magic.</summary>
    public const string Magic = "070701";

    /// <summary>The name of the last entry.</summary>
    public const string TrailerName = "TRAILER!!!";

    private const uint TypeDirectory = 0x4000;  // S_IFDIR, octal 0040000
    private const uint TypeRegular = 0x8000;    // S_IFREG, octal 0100000
    private const uint TypeSymlink = 0xA000;    // S_IFLNK, octal 0120000
    private const uint TypeCharacter = 0x2000;  // S_IFCHR, octal 0020000
    private const uint TypeBlock = 0x6000;      // S_IFBLK, octal 0060000
    private const uint PermissionMask = 0xFFF;  // octal 07777

    private readonly List<Entry> _entries = [];
    private readonly HashSet<string> _paths = new(StringComparer.Ordinal);

    /// <summary>The modification time written in every entry, in seconds since 1970 (default 0, for reproducible archives).</summary>
    public uint ModificationTime { get; init; }

    /// <summary>The owner written in every entry (default 0, root).</summary>
    public uint UserId { get; init; }

    /// <summary>The group written in every entry (default 0, root).</summary>
    public uint GroupId { get; init; }

    /// <summary>The number of entries added so far (the trailer excluded).</summary>
    public int Count => _entries.Count;

    /// <summary>Adds a directory.</summary>
    /// <param name="path">The path, for example <c>dev</c> or <c>/usr/bin</c> (a leading slash is dropped).</param>
    /// <param name="permissions">The permission bits, for example <c>0x1ED</c> (octal 0755).</param>
    /// <returns>This builder.</returns>
    public CpioArchiveBuilder AddDirectory(string path, uint permissions = 0x1ED)
    {
        Add(path, TypeDirectory, permissions, [], 0, 0, nlink: 2);
        return this;
    }

    /// <summary>Adds a regular file.</summary>
    /// <param name="path">The path, for example <c>init</c> or <c>bin/busybox</c>.</param>
    /// <param name="content">The contents (copied).</param>
    /// <param name="permissions">The permission bits, for example <c>0x1ED</c> (octal 0755) for a program, <c>0x1A4</c> (octal 0644) for data.</param>
    /// <returns>This builder.</returns>
    public CpioArchiveBuilder AddFile(string path, ReadOnlySpan<byte> content, uint permissions = 0x1A4)
    {
        Add(path, TypeRegular, permissions, content.ToArray(), 0, 0, nlink: 1);
        return this;
    }

    /// <summary>Adds a regular file holding <paramref name="text"/> in UTF-8 (a script such as <c>/init</c>).</summary>
    /// <param name="path">The path.</param>
    /// <param name="text">The contents.</param>
    /// <param name="permissions">The permission bits.</param>
    /// <returns>This builder.</returns>
    public CpioArchiveBuilder AddTextFile(string path, string text, uint permissions = 0x1A4)
    {
        ArgumentNullException.ThrowIfNull(text);
        return AddFile(path, Encoding.UTF8.GetBytes(text), permissions);
    }

    /// <summary>Adds a symbolic link; its data is the target path.</summary>
    /// <param name="path">The link's path, for example <c>bin/sh</c>.</param>
    /// <param name="target">What it points to, for example <c>busybox</c>.</param>
    /// <returns>This builder.</returns>
    public CpioArchiveBuilder AddSymlink(string path, string target)
    {
        ArgumentException.ThrowIfNullOrEmpty(target);
        Add(path, TypeSymlink, 0x1FF, Encoding.UTF8.GetBytes(target), 0, 0, nlink: 1);
        return this;
    }

    /// <summary>Adds a character device node, for example <c>dev/console</c> 5, 1.</summary>
    /// <param name="path">The path.</param>
    /// <param name="major">The device's major number.</param>
    /// <param name="minor">The device's minor number.</param>
    /// <param name="permissions">The permission bits (default octal 0600).</param>
    /// <returns>This builder.</returns>
    public CpioArchiveBuilder AddCharacterDevice(string path, uint major, uint minor, uint permissions = 0x180)
    {
        Add(path, TypeCharacter, permissions, [], major, minor, nlink: 1);
        return this;
    }

    /// <summary>Adds a block device node.</summary>
    /// <param name="path">The path.</param>
    /// <param name="major">The device's major number.</param>
    /// <param name="minor">The device's minor number.</param>
    /// <param name="permissions">The permission bits (default octal 0600).</param>
    /// <returns>This builder.</returns>
    public CpioArchiveBuilder AddBlockDevice(string path, uint major, uint minor, uint permissions = 0x180)
    {
        Add(path, TypeBlock, permissions, [], major, minor, nlink: 1);
        return this;
    }

    /// <summary>Writes the archive, trailer included, to <paramref name="destination"/>.</summary>
    /// <param name="destination">The stream to write to.</param>
    public void WriteTo(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        uint inode = 1;
        foreach (Entry entry in _entries)
        {
            WriteEntry(destination, entry, inode++);
        }

        WriteEntry(destination, new Entry(TrailerName, 0, [], 0, 0, 1), 0);
    }

    /// <summary>The archive, uncompressed.</summary>
    /// <returns>The bytes.</returns>
    public byte[] ToArray()
    {
        using var stream = new MemoryStream();
        WriteTo(stream);
        return stream.ToArray();
    }

    /// <summary>The archive compressed with gzip, as an <c>initramfs.cpio.gz</c>.</summary>
    /// <returns>The bytes.</returns>
    public byte[] ToGzipArray()
    {
        using var stream = new MemoryStream();
        using (var gzip = new GZipStream(stream, CompressionLevel.Optimal, leaveOpen: true))
        {
            WriteTo(gzip);
        }

        return stream.ToArray();
    }

    private void Add(string path, uint type, uint permissions, byte[] data, uint major, uint minor, uint nlink)
    {
        string name = Normalize(path);
        if ((permissions & ~PermissionMask) != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(permissions), $"Permissions 0x{permissions:X} of '{name}' have bits beyond the 12 permission bits (octal 07777).");
        }

        if (major > 0xFFF || minor > 0xFFFFF)
        {
            throw new ArgumentOutOfRangeException(nameof(major), $"Device numbers {major}, {minor} of '{name}' are out of range.");
        }

        if (_paths.Contains(name))
        {
            throw new ArgumentException($"The archive already has an entry '{name}'.", nameof(path));
        }

        int slash = name.LastIndexOf('/');
        if (slash > 0 && !_paths.Contains(name[..slash]))
        {
            AddDirectory(name[..slash]);
        }

        _paths.Add(name);
        _entries.Add(new Entry(name, type | permissions, data, major, minor, nlink));
    }

    private static string Normalize(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string name = path.Trim('/');
        if (name.Length == 0 || name == TrailerName || name.Split('/').Any(part => part is "" or "." or ".."))
        {
            throw new ArgumentException($"'{path}' is not a valid archive path (empty, '.', '..' or the trailer name).", nameof(path));
        }

        return name;
    }

    private void WriteEntry(Stream destination, Entry entry, uint inode)
    {
        byte[] name = Encoding.UTF8.GetBytes(entry.Name + "\0");
        var header = new StringBuilder(110);
        header.Append(Magic);
        foreach (uint field in (ReadOnlySpan<uint>)[
            inode, entry.Mode, UserId, GroupId, entry.Links, ModificationTime, (uint)entry.Data.Length,
            0, 0, entry.Major, entry.Minor, (uint)name.Length, 0])
        {
            header.Append(field.ToString("X8", CultureInfo.InvariantCulture));
        }

        byte[] headerBytes = Encoding.ASCII.GetBytes(header.ToString());
        destination.Write(headerBytes);
        destination.Write(name);
        WritePadding(destination, headerBytes.Length + name.Length);
        destination.Write(entry.Data);
        WritePadding(destination, entry.Data.Length);
    }

    private static void WritePadding(Stream destination, int length)
    {
        int padding = (4 - (length & 3)) & 3;
        destination.Write(stackalloc byte[padding]);
    }

    private sealed record Entry(string Name, uint Mode, byte[] Data, uint Major, uint Minor, uint Links);
}
