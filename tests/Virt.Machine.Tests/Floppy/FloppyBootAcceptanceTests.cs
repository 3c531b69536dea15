using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Virt.Devices;
using Xunit;

namespace Virt.Machine.Tests.Floppy;

/// <summary>
/// Debian's SeaBIOS boots a 1.44 MB floppy image whose boot sector is our own (<see cref="FloppyBootSector"/>): it reads
/// every track through INT 13h (so through SeaBIOS's floppy driver, the 8237 and the floppy controller), checks the
/// checksum and prints its verdict on COM1. The same image under qemu-system-i386 prints the same line.
/// </summary>
[Trait("Category", "Acceptance")]
public sealed partial class FloppyBootAcceptanceTests
{
    private const string SeaBios = "/usr/share/seabios/bios-256k.bin";
    private const string Qemu = "qemu-system-i386";

    [Fact]
    public void SeaBiosBootsOurFloppyAndItReadsTheWholeDiskAsUnderQemu()
    {
        Assert.True(File.Exists(SeaBios), $"{SeaBios} is missing: install Debian's seabios package.");
        byte[] image = FloppyBootSector.CreateImage(seed: 15);
        string expected = $"FLOPPY OK {FloppyBootSector.Checksum(image):X4}";

        string virtLine = RunVirt(image);
        Assert.Equal(expected, virtLine);

        string path = Path.Combine(Path.GetTempPath(), $"virt-floppy-{Environment.ProcessId}-{Guid.NewGuid():N}.img");
        File.WriteAllBytes(path, image);
        try
        {
            string qemuLine = RunQemu(path);
            Assert.Equal(qemuLine, virtLine);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static string RunVirt(byte[] image)
    {
        using Machine machine = new MachineBuilder()
            .WithFirmware(SeaBios)
            .WithPciBus()
            .WithApic()
            .WithHpet()
            .WithFirmwareConfig()
            .WithAcpi()
            .WithSerialCapture(0)
            .WithFloppyDrive(0, new MemoryBlockDevice(image, name: "floppy.img"))
            .Build();
        MachineStopReason stop = machine.Run(maxInstructions: 2_000_000_000, timeout: TimeSpan.FromMinutes(3));
        string text = machine.GetSerialCapture(0).GetText();
        Match marker = Marker().Match(text);
        Assert.True(marker.Success, $"No FLOPPY line on COM1 (stop: {stop.Kind}); output: {text}");
        return marker.Value.TrimEnd();
    }

    private static string RunQemu(string imagePath)
    {
        var start = new ProcessStartInfo(Qemu)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { "-M", "pc", "-bios", SeaBios, "-nographic", "-vga", "none", "-net", "none", "-no-reboot", "-accel", "tcg", "-drive", $"file={imagePath},if=floppy,format=raw,index=0" })
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"{Qemu} is missing: install Debian's qemu-system-x86 package.", e);
        }

        using (process)
        {
            var output = new StringBuilder();
            var found = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    return;
                }

                lock (output)
                {
                    output.AppendLine(e.Data);
                    if (Marker().Match(output.ToString()) is { Success: true } m)
                    {
                        found.TrySetResult(m.Value.TrimEnd());
                    }
                }
            };
            process.ErrorDataReceived += (_, _) => { };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            bool done = found.Task.Wait(TimeSpan.FromMinutes(2));
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // already exited
            }

            Assert.True(done, $"QEMU printed no FLOPPY line: {output}");
            return found.Task.Result;
        }
    }

    [GeneratedRegex(@"FLOPPY (OK|BAD|ERR) [0-9A-F]+\r?\n")]
    private static partial Regex Marker();
}
