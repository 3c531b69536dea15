using Virt.Devices;
using Virt.Machine.Boot;
using Virt.Machine.Tests.Snapshots;
using Virt.Memory;
using Xunit;

namespace Virt.Machine.Tests.Docs;

/// <summary>The example of docs/snapshots.md, compiled and run: keep the two in step.</summary>
public sealed class SnapshotExampleTests
{
    [Fact]
    public void SnapshotToAFileAndContinueInAnotherMachine()
    {
        byte[] image = SnapshotGuest.Image;     // any guest; this one prints a letter a round to COM1
        string path = Path.Combine(Path.GetTempPath(), $"virt-example-{Guid.NewGuid():N}.snap");
        try
        {
            // --- docs/snapshots.md example begins ---
            // Both machines are built with the same configuration: RAM size, CPU model, devices.
            MachineBuilder Configure(ICharacterSink serial) => new MachineBuilder()
                .WithMemorySize(16UL << 20)
                .WithSerialPort(0, new CharacterSinkSerialBackend(serial))
                .WithClock(new VirtualClockOptions { Mode = VirtualClockMode.Deterministic })
                .WithFlatBinary(image, new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "example"));

            // Run a while, then save the whole machine (CPU, clock, devices, RAM).
            var firstSerial = new BufferCharacterSink();
            using (Machine first = Configure(firstSerial).Build())
            {
                first.Run(maxInstructions: 300_000);
                using FileStream file = File.Create(path);
                first.SaveSnapshot(file);
            }

            // Later, perhaps in another process: a machine of the same configuration continues from there.
            var secondSerial = new BufferCharacterSink();
            using Machine second = Configure(secondSerial).Build();
            using (FileStream file = File.OpenRead(path))
            {
                second.RestoreSnapshot(file);   // SnapshotFormatException / SnapshotMismatchException leave it untouched
            }

            second.Run(maxInstructions: 20_000_000);
            string output = firstSerial.GetText() + secondSerial.GetText();   // the guest's whole output
            // --- docs/snapshots.md example ends ---

            Assert.NotEmpty(firstSerial.GetText());
            Assert.NotEmpty(secondSerial.GetText());
            Assert.Equal(SnapshotGuest.Rounds, output.Length);
            Assert.All(output.Select((c, i) => (c, i)), p => Assert.Equal((char)('a' + (p.i % 26)), p.c));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
