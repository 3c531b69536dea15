using System.Buffers.Binary;
using System.Text;
using Virt.Machine.Boot;

namespace Virt.Run.Tests.Acceptance;

/// <summary>
/// Bootable disk, CD and floppy images for the storage acceptance tests, built from Debian's tools and packages (never
/// committed, no loop mounts, no root needed beyond installing the tools) and cached beside the guest kernels
/// (<see cref="DebianGuests.CacheDirectory"/>): a raw MBR disk with syslinux on a FAT partition, a GRUB rescue ISO,
/// a syslinux floppy that starts a Multiboot kernel through mboot.c32, and an ext2 data disk with an initramfs that
/// loads the ATA modules from the kernel package.
/// </summary>
internal static class StorageImages
{
    /// <summary>The kernel command line every image boots Linux with: the console on COM1, where the tests read it.</summary>
    public const string KernelCommandLine = "console=ttyS0";

    /// <summary>The line the ext2 guest prints after reading the base file back.</summary>
    public const string BaseFileLine = "VIRT-EXT2-BASE: the base image's file";

    /// <summary>The line the ext2 guest writes to a new file and prints after reading it back from a fresh mount.</summary>
    public const string WrittenFileLine = "VIRT-EXT2-WRITTEN: the guest wrote this";

    /// <summary>What the ext2 guest prints before <see cref="WrittenFileLine"/> when it finds the file from an earlier run.</summary>
    public const string FoundPrefix = "VIRT-EXT2-FOUND: ";

    /// <summary>The kernel command line of the Multiboot kernel on the floppy (after its path, which mboot.c32 passes first).</summary>
    public const string MultibootArguments = "hello floppy";

    /// <summary>The Multiboot kernel's load address: 1 MiB, where mboot.c32 places ELF segments as they ask.</summary>
    public const uint MultibootLoadAddress = 0x10_0000;

    /// <summary>Bumped when the recipe changes, so cached images are rebuilt.</summary>
    private const int RecipeVersion = 2;

    private const int SectorSize = 512;

    /// <summary>The FAT partition starts at 1 MiB, the alignment partitioning tools use.</summary>
    private const long PartitionStartSector = 2048;

    private const long DiskSizeInBytes = 64L << 20;

    /// <summary>The 440 bytes of boot code an MBR has before its disk signature.</summary>
    private const int MbrBootCodeSize = 440;

    private const int PartitionTableOffset = 0x1BE;
    private const byte PartitionActive = 0x80;

    /// <summary>Partition type 0Eh: FAT16 addressed by LBA.</summary>
    private const byte PartitionTypeFat16Lba = 0x0E;

    private const int BootSignatureOffset = 0x1FE;

    /// <summary>The geometry used for the CHS fields of the partition entry (the conventional 255 heads, 63 sectors).</summary>
    private const int Heads = 255;
    private const int SectorsPerTrack = 63;

    private const string SyslinuxModules = "/usr/lib/syslinux/modules/bios";
    private const string SyslinuxMbr = "/usr/lib/syslinux/mbr/mbr.bin";
    private const string GrubI386Pc = "/usr/lib/grub/i386-pc";

    /// <summary>The modules Linux needs to see an ext2 disk on the PIIX3's IDE function: the ATA driver and the disk and filesystem drivers.</summary>
    private static readonly string[] s_ataModules = ["crc32c_generic", "ata_piix", "sd_mod", "ext4"];

    private static readonly Lock s_lock = new();

    /// <summary>The raw MBR disk: a FAT16 partition with syslinux, the kernel and the marker initramfs.</summary>
    /// <returns>The image path (cached; do not write to it).</returns>
    public static string SyslinuxHardDisk() => Cached("syslinux-hd.img", BuildSyslinuxHardDisk);

    /// <summary>The GRUB rescue ISO with a serial-console menu entry that loads the kernel and the marker initramfs.</summary>
    /// <returns>The image path (cached).</returns>
    public static string GrubCdrom() => Cached("grub.iso", BuildGrubCdrom);

    /// <summary>The 1.44 MB FAT12 floppy with syslinux, mboot.c32 and <see cref="MultibootReportKernel"/>.</summary>
    /// <returns>The image path (cached).</returns>
    public static string SyslinuxMultibootFloppy() => Cached("syslinux-mboot.img", BuildSyslinuxFloppy);

    /// <summary>The ext2 data disk: one file, /hello.txt, holding <see cref="BaseFileLine"/>.</summary>
    /// <returns>The image path (cached; tests copy it before a guest may write to it).</returns>
    public static string Ext2Disk() => Cached("ext2.img", BuildExt2Disk);

    /// <summary>The initramfs that loads the ATA and ext2 modules, mounts /dev/sda, reads it, writes to it and powers off.</summary>
    /// <returns>The archive path (cached).</returns>
    public static string AtaInitramfs() => Cached("ata-initramfs.cpio.gz", BuildAtaInitramfs);

    /// <summary>The SHA-256 of a file, for before-and-after checks.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The hash in hexadecimal.</returns>
    public static string Hash(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(stream));
    }

    /// <summary>
    /// The order in which to load <paramref name="roots"/> and what they depend on, from each module's <c>depends=</c>
    /// entry in its <c>.modinfo</c> section (the data depmod turns into modules.dep, which the package does not ship: its
    /// maintainer script runs depmod at installation) and the <c>softdep=pre:</c> entries (ext4 asks for crc32c).
    /// </summary>
    /// <param name="moduleDirectory">The kernel's module tree (<c>/lib/modules/VERSION</c>).</param>
    /// <param name="roots">The modules wanted.</param>
    /// <returns>The module files, dependencies first.</returns>
    public static IReadOnlyList<string> ModuleLoadOrder(string moduleDirectory, IEnumerable<string> roots)
    {
        Dictionary<string, string> byName = Directory.EnumerateFiles(moduleDirectory, "*.ko", SearchOption.AllDirectories)
            .GroupBy(f => Path.GetFileNameWithoutExtension(f).Replace('-', '_'))
            .ToDictionary(g => g.Key, g => g.First());
        var order = new List<string>();
        var visiting = new HashSet<string>();
        void Visit(string name)
        {
            name = name.Replace('-', '_');
            if (!byName.TryGetValue(name, out string? file))
            {
                // Built into the kernel (modules.builtin), or a soft dependency that names an alias such as crc32c.
                return;
            }

            if (order.Contains(file) || !visiting.Add(name))
            {
                return;
            }

            foreach (string dependency in ModuleInfo(file, "depends").SelectMany(d => d.Split(',', StringSplitOptions.RemoveEmptyEntries)))
            {
                Visit(dependency);
            }

            foreach (string soft in ModuleInfo(file, "softdep"))
            {
                // "pre: crc32c" or "pre: a b post: c": the modules before "post:" load first.
                string pre = soft.Split("post:", 2)[0];
                foreach (string dependency in pre.Replace("pre:", string.Empty, StringComparison.Ordinal).Split(' ', StringSplitOptions.RemoveEmptyEntries))
                {
                    Visit(dependency);
                }
            }

            order.Add(file);
        }

        foreach (string root in roots)
        {
            Visit(root);
        }

        return order;
    }

    /// <summary>The values of one key in a kernel module's <c>.modinfo</c> section (NUL-separated <c>key=value</c> strings).</summary>
    private static IEnumerable<string> ModuleInfo(string moduleFile, string key)
    {
        byte[] elf = File.ReadAllBytes(moduleFile);
        const int ElfClass32 = 1;
        if (elf.Length < 52 || elf[0] != 0x7F || elf[1] != (byte)'E' || elf[4] != ElfClass32)
        {
            throw new InvalidDataException($"{moduleFile} is not a 32-bit ELF module");
        }

        // ELF32 header: e_shoff at 32, e_shentsize at 46, e_shnum at 48, e_shstrndx at 50; section header: sh_name at 0,
        // sh_offset at 16, sh_size at 20.
        int sectionHeaders = (int)BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan(32));
        int entrySize = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(46));
        int count = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(48));
        int names = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(50));
        int namesOffset = (int)BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan(sectionHeaders + (names * entrySize) + 16));
        for (int i = 0; i < count; i++)
        {
            int header = sectionHeaders + (i * entrySize);
            int nameOffset = namesOffset + (int)BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan(header));
            int nameEnd = Array.IndexOf(elf, (byte)0, nameOffset);
            if (Encoding.ASCII.GetString(elf, nameOffset, nameEnd - nameOffset) != ".modinfo")
            {
                continue;
            }

            int offset = (int)BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan(header + 16));
            int size = (int)BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan(header + 20));
            return Encoding.ASCII.GetString(elf, offset, size)
                .Split('\0', StringSplitOptions.RemoveEmptyEntries)
                .Where(entry => entry.StartsWith(key + "=", StringComparison.Ordinal))
                .Select(entry => entry[(key.Length + 1)..])
                .ToList();
        }

        return [];
    }

    /// <summary>Returns the cached image, building it first when it is missing or was built from other inputs.</summary>
    private static string Cached(string name, Action<string, string, string> build)
    {
        lock (s_lock)
        {
            (string kernel, string busybox) = DebianGuests.EnsureI386KernelAndBusybox();
            string directory = Path.Combine(DebianGuests.CacheDirectory, "storage");
            Directory.CreateDirectory(directory);
            string path = Path.Combine(directory, name);
            string stamp = path + ".stamp";
            string inputs = $"recipe {RecipeVersion}; {Path.GetFileName(kernel)} {new FileInfo(kernel).Length}; busybox {new FileInfo(busybox).Length}";
            if (File.Exists(path) && File.Exists(stamp) && File.ReadAllText(stamp) == inputs)
            {
                return path;
            }

            string work = Directory.CreateTempSubdirectory("virt-image-").FullName;
            try
            {
                string built = Path.Combine(work, name);
                build(built, kernel, busybox);
                File.Move(built, path, overwrite: true);
                File.WriteAllText(stamp, inputs);
                return path;
            }
            finally
            {
                Directory.Delete(work, recursive: true);
            }
        }
    }

    private static void BuildSyslinuxHardDisk(string image, string kernel, string busybox)
    {
        string mkfs = VirtRunProcess.EnsureProgram("mkfs.fat", "dosfstools");
        string mcopy = VirtRunProcess.EnsureProgram("mcopy", "mtools");
        string syslinux = VirtRunProcess.EnsureProgram("syslinux", "syslinux");
        EnsureFile(SyslinuxMbr, "syslinux-common");
        string work = Path.GetDirectoryName(image)!;

        // The whole disk, sparse; the FAT16 file system written straight into the partition's place (no loop device).
        using (var file = new FileStream(image, FileMode.Create, FileAccess.Write))
        {
            file.SetLength(DiskSizeInBytes);
        }

        long partitionSectors = (DiskSizeInBytes / SectorSize) - PartitionStartSector;
        string at = $"{image}@@{PartitionStartSector * SectorSize}";
        Run(mkfs, ["--offset=" + PartitionStartSector, "-h", $"{PartitionStartSector}", "-F", "16", "-n", "VIRTBOOT", image, $"{partitionSectors * SectorSize / 1024}"]);
        string initrd = Path.Combine(work, "initrd.gz");
        File.WriteAllBytes(initrd, DebianGuests.BuildInitramfs(busybox));
        string config = Path.Combine(work, "syslinux.cfg");
        File.WriteAllText(config, SyslinuxConfig("KERNEL /vmlinuz", $"APPEND initrd=/initrd.gz {KernelCommandLine}"));
        Run(mcopy, ["-i", at, kernel, "::vmlinuz"]);
        Run(mcopy, ["-i", at, initrd, "::initrd.gz"]);
        Run(mcopy, ["-i", at, config, "::syslinux.cfg"]);
        Run(syslinux, ["--install", "--offset", $"{PartitionStartSector * SectorSize}", image]);

        // The MBR: syslinux's boot code, which chains to the active partition's boot sector, and one partition entry.
        byte[] mbr = new byte[SectorSize];
        byte[] code = File.ReadAllBytes(SyslinuxMbr);
        code.AsSpan(0, Math.Min(code.Length, MbrBootCodeSize)).CopyTo(mbr);
        Span<byte> entry = mbr.AsSpan(PartitionTableOffset, 16);
        entry[0] = PartitionActive;
        WriteChs(entry[1..4], PartitionStartSector);
        entry[4] = PartitionTypeFat16Lba;
        WriteChs(entry[5..8], PartitionStartSector + partitionSectors - 1);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[8..], (uint)PartitionStartSector);
        BinaryPrimitives.WriteUInt32LittleEndian(entry[12..], (uint)partitionSectors);
        mbr[BootSignatureOffset] = 0x55;
        mbr[BootSignatureOffset + 1] = 0xAA;
        using (var file = new FileStream(image, FileMode.Open, FileAccess.Write))
        {
            file.Write(mbr);
        }
    }

    private static void BuildGrubCdrom(string image, string kernel, string busybox)
    {
        string mkrescue = VirtRunProcess.EnsureProgram("grub-mkrescue", "grub-common");
        VirtRunProcess.EnsureProgram("xorriso", "xorriso");
        EnsureFile(Path.Combine(GrubI386Pc, "cdboot.img"), "grub-pc-bin");
        string tree = Path.Combine(Path.GetDirectoryName(image)!, "iso");
        Directory.CreateDirectory(Path.Combine(tree, "boot", "grub"));
        File.Copy(kernel, Path.Combine(tree, "vmlinuz"));
        File.WriteAllBytes(Path.Combine(tree, "initrd.gz"), DebianGuests.BuildInitramfs(busybox));

        // GRUB on the serial line only, no menu wait: the one entry boots at once.
        File.WriteAllText(Path.Combine(tree, "boot", "grub", "grub.cfg"), string.Join('\n',
            "serial --unit=0 --speed=115200",
            "terminal_input serial",
            "terminal_output serial",
            "set timeout=0",
            "menuentry 'Debian 686 (serial console)' {",
            $"  linux /vmlinuz {KernelCommandLine}",
            "  initrd /initrd.gz",
            "}",
            string.Empty));

        // Only the BIOS platform: the i386-pc El Torito image, whatever other GRUB platforms the host has.
        Run(mkrescue, ["--directory=" + GrubI386Pc, "-o", image, tree]);
    }

    private static void BuildSyslinuxFloppy(string image, string kernel, string busybox)
    {
        _ = kernel;
        _ = busybox;
        string mkfs = VirtRunProcess.EnsureProgram("mkfs.fat", "dosfstools");
        string mcopy = VirtRunProcess.EnsureProgram("mcopy", "mtools");
        string syslinux = VirtRunProcess.EnsureProgram("syslinux", "syslinux");
        EnsureFile(Path.Combine(SyslinuxModules, "mboot.c32"), "syslinux-common");
        string work = Path.GetDirectoryName(image)!;

        // 1440 KiB: mkfs.fat picks FAT12 and the 1.44 MB floppy's geometry (18 sectors, 2 heads, 80 cylinders).
        Run(mkfs, ["-C", image, "1440"]);
        string multiboot = Path.Combine(work, "report.elf");
        File.WriteAllBytes(multiboot, MultibootReportKernel.Build(MultibootLoadAddress, elf: true));
        string config = Path.Combine(work, "syslinux.cfg");
        File.WriteAllText(config, SyslinuxConfig("KERNEL mboot.c32", $"APPEND report.elf {MultibootArguments}"));
        foreach (string module in new[] { "mboot.c32", "libcom32.c32" })
        {
            Run(mcopy, ["-i", image, Path.Combine(SyslinuxModules, module), "::" + module]);
        }

        Run(mcopy, ["-i", image, multiboot, "::report.elf"]);
        Run(mcopy, ["-i", image, config, "::syslinux.cfg"]);
        Run(syslinux, ["--install", image]);
    }

    private static void BuildExt2Disk(string image, string kernel, string busybox)
    {
        _ = kernel;
        _ = busybox;
        string mke2fs = VirtRunProcess.EnsureProgram("mke2fs", "e2fsprogs");
        string tree = Path.Combine(Path.GetDirectoryName(image)!, "ext2");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(tree, "hello.txt"), BaseFileLine + "\n");

        // A whole-disk file system (no partition table): the guest mounts /dev/sda itself. Fixed UUID and hash seed so
        // a rebuilt image is the same image.
        Run(mke2fs, ["-q", "-t", "ext2", "-F", "-b", "1024", "-U", "0b5e0b5e-0000-4000-8000-000000000001", "-E", "hash_seed=0b5e0b5e-0000-4000-8000-000000000002", "-L", "virtdata", "-d", tree, image, "8M"]);
    }

    private static void BuildAtaInitramfs(string archive, string kernel, string busybox)
    {
        string root = Path.GetDirectoryName(Path.GetDirectoryName(kernel)!)!;
        string version = Path.GetFileName(kernel)["vmlinuz-".Length..];
        string modules = Path.Combine(root, "lib", "modules", version);
        IReadOnlyList<string> order = ModuleLoadOrder(modules, s_ataModules);
        var init = new StringBuilder()
            .Append("#!/bin/busybox sh\n")
            .Append("/bin/busybox mount -t proc proc /proc\n")
            .Append("/bin/busybox mount -t devtmpfs devtmpfs /dev\n");
        var cpio = new CpioArchiveBuilder()
            .AddDirectory("bin")
            .AddDirectory("dev")
            .AddDirectory("proc")
            .AddDirectory("mnt")
            .AddDirectory("modules")
            .AddCharacterDevice("dev/console", 5, 1)
            .AddFile("bin/busybox", File.ReadAllBytes(busybox), permissions: 0x1ED)
            .AddSymlink("bin/sh", "busybox");
        foreach (string module in order)
        {
            string name = Path.GetFileName(module);
            cpio.AddFile("modules/" + name, File.ReadAllBytes(module));
            init.Append($"/bin/busybox insmod /modules/{name}\n");
        }

        // Wait for the disk (the SCSI scan runs asynchronously), then read, write, remount and read back.
        init.Append("n=0; while [ ! -b /dev/sda ] && [ $n -lt 100 ]; do /bin/busybox sleep 0.1; n=$((n+1)); done\n")
            .Append("/bin/busybox mount -t ext2 /dev/sda /mnt && /bin/busybox cat /mnt/hello.txt\n")
            .Append($"[ -f /mnt/written.txt ] && /bin/busybox echo \"{FoundPrefix}$(/bin/busybox cat /mnt/written.txt)\"\n")
            .Append($"/bin/busybox echo '{WrittenFileLine}' > /mnt/written.txt\n")
            .Append("/bin/busybox umount /mnt\n")
            .Append("/bin/busybox mount -t ext2 -o ro /dev/sda /mnt && /bin/busybox cat /mnt/written.txt\n")
            .Append("/bin/busybox umount /mnt\n")
            .Append("/bin/busybox sync\n")
            .Append($"/bin/busybox echo '{DebianGuests.Marker}'\n")
            .Append("/bin/busybox poweroff -f\n");
        cpio.AddTextFile("init", init.ToString(), permissions: 0x1ED);
        File.WriteAllBytes(archive, cpio.ToGzipArray());
    }

    /// <summary>
    /// A syslinux configuration that boots its one entry at once. No SERIAL directive: syslinux prints through the BIOS,
    /// which SeaBIOS's serial console (QEMU's -nographic) mirrors to COM1; with both, the two copies of each message
    /// interleave on the line differently from run to run.
    /// </summary>
    private static string SyslinuxConfig(string kernelLine, string appendLine) =>
        string.Join('\n', "DEFAULT boot", "PROMPT 0", "TIMEOUT 0", "LABEL boot", "  " + kernelLine, "  " + appendLine, string.Empty);

    /// <summary>Writes the three CHS bytes of a partition entry for <paramref name="lba"/> (cylinder 1023 and up saturate).</summary>
    private static void WriteChs(Span<byte> chs, long lba)
    {
        long cylinder = lba / (Heads * SectorsPerTrack);
        long head = lba / SectorsPerTrack % Heads;
        long sector = (lba % SectorsPerTrack) + 1;
        if (cylinder > 1023)
        {
            (cylinder, head, sector) = (1023, Heads - 1, SectorsPerTrack);
        }

        chs[0] = (byte)head;
        chs[1] = (byte)(sector | ((cylinder >> 8) << 6));
        chs[2] = (byte)cylinder;
    }

    /// <summary>Makes sure a file a Debian package installs is there (installing the package when running as root).</summary>
    private static void EnsureFile(string path, string package)
    {
        if (!File.Exists(path))
        {
            VirtRunProcess.Run("apt-get", ["install", "-y", "-q", "--no-install-recommends", package], TimeSpan.FromMinutes(10));
        }

        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"{path} is missing; install Debian's {package} package");
        }
    }

    private static void Run(string program, string[] args)
    {
        (int code, string stdout, string stderr) = VirtRunProcess.Run(program, args, TimeSpan.FromMinutes(5));
        if (code != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(program)} {string.Join(' ', args)} failed ({code}): {stderr}{stdout}");
        }
    }
}
