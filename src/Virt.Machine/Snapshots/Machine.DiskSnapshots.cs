using System.Globalization;
using System.IO.Compression;
using System.Numerics;
using System.Security.Cryptography;
using System.Text;
using Virt.Devices;

namespace Virt.Machine;

/// <summary>The disk sections of whole-machine snapshots: one record per drive, and the written chunks of copy-on-write overlays (docs/snapshots.md, "Disks").</summary>
public sealed partial class Machine
{
    /// <summary>Overlay chunks per 'DSKC' section: one bit each in a 16-bit bitmap (64 KiB of 4 KiB chunks, as RAM chunks hold 16 pages).</summary>
    private const int DiskChunksPerGroup = 16;

    /// <summary>How much of each end of a base image the fingerprint hashes.</summary>
    private const int FingerprintSpanInBytes = 1 << 20;

    /// <summary>The length of the fingerprint: a SHA-256 hash.</summary>
    private const int FingerprintSizeInBytes = 32;

    /// <summary>How a drive's medium is in the snapshot.</summary>
    private enum DiskMode : byte
    {
        /// <summary>No medium (an empty CD or floppy drive).</summary>
        Empty = 0,

        /// <summary>The medium by name, capacity and fingerprint; its contents are not in the snapshot.</summary>
        Reference = 1,

        /// <summary>A copy-on-write overlay: the base by name, capacity and fingerprint, and the overlay's chunks in 'DSKC' sections.</summary>
        Overlay = 2,
    }

    /// <summary>The drives of this machine, in snapshot order: IDE positions 0-3, then floppy drives 0-1, each with its current medium.</summary>
    private List<MachineDrive> EnumerateDrives()
    {
        var drives = new List<MachineDrive>();
        if (FindDevice<Piix3Ide>() is { } piix)
        {
            AddIde(drives, piix.GetMediaKind, piix.GetMedium);
        }
        else if (FindDevice<IsaIdeController>() is { } isa)
        {
            AddIde(drives, isa.GetMediaKind, isa.GetMedium);
        }

        if (FindDevice<Floppy82077>() is { } fdc)
        {
            for (int i = 0; i < Floppy82077.DriveCount; i++)
            {
                if (fdc.IsDrivePresent(i))
                {
                    drives.Add(new MachineDrive(string.Create(CultureInfo.InvariantCulture, $"fd{i}"), "floppy", fdc.GetMedium(i)));
                }
            }
        }

        return drives;

        static void AddIde(List<MachineDrive> drives, Func<int, IdeMediaKind?> kind, Func<int, IBlockDevice?> medium)
        {
            for (int i = 0; i < Piix3IdeOptions.DrivePositions; i++)
            {
                if (kind(i) is { } media)
                {
                    drives.Add(new MachineDrive(string.Create(CultureInfo.InvariantCulture, $"ide{i}"), media == IdeMediaKind.Cdrom ? "cdrom" : "disk", medium(i)));
                }
            }
        }
    }

    /// <summary>Refuses a snapshot whose writable drives would be saved by reference only, unless the caller accepted that.</summary>
    private static void CheckDisksCanBeSaved(List<MachineDrive> drives, bool allowDisksByReference)
    {
        if (allowDisksByReference)
        {
            return;
        }

        string[] direct = [.. drives.Where(d => d.Medium is { IsReadOnly: false } and not CopyOnWriteBlockDevice).Select(d => $"{d.Id} ('{d.Medium!.Name}')")];
        if (direct.Length > 0)
        {
            throw new InvalidOperationException(
                $"Cannot snapshot: drive {string.Join(", ", direct)} is writable and not on a copy-on-write overlay, so the guest's writes went to the image " +
                "itself and a snapshot can only name it, not capture it (restoring later would pair this RAM with whatever the image holds then). " +
                "Build the machine with WithDiskSnapshot (or give the drive a CopyOnWriteBlockDevice), or pass allowDisksByReference: true to save the disk by name and capacity only.");
        }
    }

    /// <summary>Writes one 'DISK' section per drive and, after an overlay's, its changed chunks as 'DSKC' sections.</summary>
    private static void WriteDisks(Stream stream, List<MachineDrive> drives)
    {
        for (int ordinal = 0; ordinal < drives.Count; ordinal++)
        {
            MachineDrive drive = drives[ordinal];
            var payload = new MemoryStream();
            using (var writer = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true))
            {
                writer.Write(drive.Id);
                writer.Write(drive.Kind);
                if (drive.Medium is not { } medium)
                {
                    writer.Write((byte)DiskMode.Empty);
                }
                else
                {
                    CopyOnWriteBlockDevice? overlay = medium as CopyOnWriteBlockDevice;
                    IBlockDevice identity = overlay?.Base ?? medium;
                    writer.Write((byte)(overlay is null ? DiskMode.Reference : DiskMode.Overlay));
                    writer.Write(identity.Name);
                    writer.Write(identity.CapacityInBytes);
                    writer.Write(identity.IsReadOnly ? (byte)1 : (byte)0);
                    writer.Write(Fingerprint(identity));
                }
            }

            SnapshotStream.WriteSection(stream, SnapshotSectionId.Disk, payload.ToArray());
            if (drive.Medium is CopyOnWriteBlockDevice cow)
            {
                WriteOverlayChunks(stream, ordinal, cow);
            }
        }
    }

    private static void WriteOverlayChunks(Stream stream, int ordinal, CopyOnWriteBlockDevice overlay)
    {
        IReadOnlyList<long> chunks = overlay.GetChangedChunks();
        byte[] buffer = new byte[DiskChunksPerGroup * CopyOnWriteBlockDevice.ChunkSizeInBytes];
        int i = 0;
        while (i < chunks.Count)
        {
            long group = chunks[i] / DiskChunksPerGroup;
            ushort bitmap = 0;
            int used = 0;
            for (; i < chunks.Count && chunks[i] / DiskChunksPerGroup == group; i++)
            {
                int length = overlay.GetChunkLength(chunks[i]);
                overlay.Read(chunks[i] * CopyOnWriteBlockDevice.ChunkSizeInBytes, buffer.AsSpan(used, length));
                used += length;
                bitmap |= (ushort)(1 << (int)(chunks[i] % DiskChunksPerGroup));
            }

            var payload = new MemoryStream();
            using (var writer = new BinaryWriter(payload, Encoding.UTF8, leaveOpen: true))
            {
                writer.Write(ordinal);
                writer.Write(group);
                writer.Write(bitmap);
            }

            using (var deflate = new DeflateStream(payload, CompressionLevel.Fastest, leaveOpen: true))
            {
                deflate.Write(buffer, 0, used);
            }

            SnapshotStream.WriteSection(stream, SnapshotSectionId.DiskChunks, payload.ToArray());
        }
    }

    /// <summary>
    /// A cheap identity of an image's contents: SHA-256 of its capacity (int64, little-endian), its first MiB and its last
    /// MiB (the whole device when smaller). It catches another image of the same size and name (the partition table,
    /// boot sector, file system superblock and a GPT's backup header live there); it does not catch a change elsewhere.
    /// </summary>
    private static byte[] Fingerprint(IBlockDevice device)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        Span<byte> capacity = stackalloc byte[sizeof(long)];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(capacity, device.CapacityInBytes);
        hash.AppendData(capacity);
        int span = (int)Math.Min(FingerprintSpanInBytes, device.CapacityInBytes);
        byte[] buffer = new byte[span];
        device.Read(0, buffer);
        hash.AppendData(buffer);
        device.Read(device.CapacityInBytes - span, buffer);
        hash.AppendData(buffer);
        return hash.GetHashAndReset();
    }

    /// <summary>Reads a 'DISK' section and checks it against this machine's drive of that ordinal (a mismatch names the drive and field).</summary>
    private void ReadDisk(StagedSnapshot staged, BinaryReader reader, string where)
    {
        string id = reader.ReadString();
        string kind = reader.ReadString();
        byte modeByte = reader.ReadByte();
        if (!Enum.IsDefined((DiskMode)modeByte))
        {
            throw new SnapshotFormatException($"{where}: field mode {modeByte} of drive '{id}' is not 0, 1 or 2.");
        }

        var mode = (DiskMode)modeByte;
        string? name = null;
        long capacity = 0;
        bool readOnly = false;
        byte[]? fingerprint = null;
        if (mode != DiskMode.Empty)
        {
            name = reader.ReadString();
            capacity = reader.ReadInt64();
            byte ro = reader.ReadByte();
            readOnly = ro switch
            {
                0 => false,
                1 => true,
                _ => throw new SnapshotFormatException($"{where}: field read-only {ro} of drive '{id}' is not 0 or 1."),
            };
            fingerprint = reader.ReadBytes(FingerprintSizeInBytes);
            if (fingerprint.Length != FingerprintSizeInBytes)
            {
                throw new EndOfStreamException($"the fingerprint of drive '{id}' is cut short.");
            }
        }

        staged.Drives ??= EnumerateDrives();
        int ordinal = staged.Disks.Count;
        if (ordinal >= staged.Drives.Count || staged.Drives[ordinal].Id != id)
        {
            string mine = string.Join(", ", staged.Drives.Select(d => $"{d.Id} ({d.Kind})"));
            throw new SnapshotMismatchException($"The snapshot has drive '{id}' ({kind}) as drive #{ordinal}; this machine's drives are: {(mine.Length == 0 ? "none" : mine)}.");
        }

        MachineDrive drive = staged.Drives[ordinal];
        string what = $"Snapshot drive '{id}'";
        if (drive.Kind != kind)
        {
            throw new SnapshotMismatchException($"{what}: field media kind is {kind} in the snapshot but {drive.Kind} here.");
        }

        CopyOnWriteBlockDevice? overlay = drive.Medium as CopyOnWriteBlockDevice;
        DiskMode here = drive.Medium is null ? DiskMode.Empty : overlay is null ? DiskMode.Reference : DiskMode.Overlay;
        if (here != mode)
        {
            throw new SnapshotMismatchException($"{what}: field mode is {Describe(mode)} in the snapshot but {Describe(here)} here.");
        }

        if (drive.Medium is { } medium)
        {
            IBlockDevice identity = overlay?.Base ?? medium;
            if (identity.Name != name)
            {
                throw new SnapshotMismatchException($"{what}: field name is '{name}' in the snapshot but '{identity.Name}' here.");
            }

            if (identity.CapacityInBytes != capacity)
            {
                throw new SnapshotMismatchException($"{what}: field capacity is {capacity} bytes in the snapshot but {identity.CapacityInBytes} bytes here.");
            }

            if (identity.IsReadOnly != readOnly)
            {
                throw new SnapshotMismatchException($"{what}: field read-only is {readOnly} in the snapshot but {identity.IsReadOnly} here.");
            }

            // A writable image saved by reference was written by the guest after the snapshot as well (the caller
            // accepted that when saving), so its contents are not compared; an overlay's base and a read-only image are.
            bool compareContents = mode == DiskMode.Overlay || readOnly;
            if (compareContents && !Fingerprint(identity).AsSpan().SequenceEqual(fingerprint))
            {
                throw new SnapshotMismatchException($"{what}: field fingerprint (SHA-256 of the capacity, first and last MiB) of '{name}' differs: the image here has other contents than the one the snapshot was taken on.");
            }
        }

        staged.Disks.Add(new StagedDisk(id, overlay));
    }

    private static string Describe(DiskMode mode) => mode switch
    {
        DiskMode.Empty => "no medium",
        DiskMode.Reference => "an image by reference (no copy-on-write overlay)",
        _ => "a copy-on-write overlay",
    };

    /// <summary>Reads a 'DSKC' section into the staged overlay of the current 'DISK' section.</summary>
    private static void ReadDiskChunks(StagedSnapshot staged, byte[] payload, BinaryReader reader, string where)
    {
        int ordinal = reader.ReadInt32();
        long group = reader.ReadInt64();
        ushort bitmap = reader.ReadUInt16();
        if (ordinal != staged.Disks.Count - 1 || staged.Disks[ordinal].Overlay is null || group < 0 || bitmap == 0)
        {
            throw new SnapshotFormatException($"{where}: field drive {ordinal}, chunk group {group} or bitmap {bitmap:X4} is out of range (drive {staged.Disks.Count - 1} is current and must have an overlay).");
        }

        StagedDisk disk = staged.Disks[ordinal];
        CopyOnWriteBlockDevice overlay = disk.Overlay!;
        long first = group * DiskChunksPerGroup;
        int highest = 15 - BitOperations.LeadingZeroCount((uint)bitmap << 16);
        if (first >= overlay.ChunkCount || first + highest >= overlay.ChunkCount)
        {
            throw new SnapshotFormatException($"{where}: chunk group {group} (bitmap {bitmap:X4}) lies beyond the {overlay.ChunkCount} chunks of drive '{disk.Id}'.");
        }

        int total = 0;
        for (int bit = 0; bit < DiskChunksPerGroup; bit++)
        {
            if ((bitmap & (1 << bit)) != 0)
            {
                if (disk.Chunks.ContainsKey(first + bit))
                {
                    throw new SnapshotFormatException($"{where}: chunk {first + bit} of drive '{disk.Id}' appears twice.");
                }

                total += overlay.GetChunkLength(first + bit);
            }
        }

        disk.Bytes += total;
        if (disk.Bytes > overlay.MemoryBudgetInBytes)
        {
            throw new SnapshotFormatException($"{where}: the overlay chunks of drive '{disk.Id}' exceed its budget of {overlay.MemoryBudgetInBytes} bytes.");
        }

        byte[] bytes = new byte[total];
        long start = reader.BaseStream.Position;
        using (var deflate = new DeflateStream(new MemoryStream(payload, (int)start, payload.Length - (int)start, writable: false), CompressionMode.Decompress))
        {
            deflate.ReadExactly(bytes);
            if (deflate.ReadByte() != -1)
            {
                throw new SnapshotFormatException($"{where}: the compressed chunks of group {group} of drive '{disk.Id}' hold more than the bitmap's {total} bytes.");
            }
        }

        int used = 0;
        for (int bit = 0; bit < DiskChunksPerGroup; bit++)
        {
            if ((bitmap & (1 << bit)) != 0)
            {
                int length = overlay.GetChunkLength(first + bit);
                disk.Chunks.Add(first + bit, bytes.AsSpan(used, length).ToArray());
                used += length;
            }
        }
    }

    /// <summary>Every drive of this machine must have had its 'DISK' section.</summary>
    private void CheckDisksComplete(StagedSnapshot staged)
    {
        List<MachineDrive> drives = staged.Drives ?? EnumerateDrives();
        if (staged.Disks.Count < drives.Count)
        {
            string missing = string.Join(", ", drives.Skip(staged.Disks.Count).Select(d => $"'{d.Id}' ({d.Kind})"));
            throw new SnapshotMismatchException($"This machine has drive {missing}, the snapshot does not.");
        }
    }

    /// <summary>Puts the staged overlay contents in place (checked already; only a scratch file's I/O can fail).</summary>
    private static void ApplyDisks(StagedSnapshot staged)
    {
        foreach (StagedDisk disk in staged.Disks)
        {
            disk.Overlay?.ReplaceChanges(disk.Chunks);
        }
    }

    /// <summary>A drive of the machine: its identifier (<c>ide0</c>-<c>ide3</c>, <c>fd0</c>-<c>fd1</c>), media kind and current medium.</summary>
    private sealed record MachineDrive(string Id, string Kind, IBlockDevice? Medium);

    /// <summary>A 'DISK' section read and checked, with its overlay's chunks.</summary>
    private sealed record StagedDisk(string Id, CopyOnWriteBlockDevice? Overlay)
    {
        public Dictionary<long, byte[]> Chunks { get; } = [];

        public long Bytes { get; set; }
    }
}
